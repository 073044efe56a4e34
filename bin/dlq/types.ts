/**
 * What the DLQ commands are given: an SQS client, the two queues, an output writer and a clock.
 * bin/cli.ts builds the real ones; tests inject their own.
 */
import type { CloudFormationClient } from '@aws-sdk/client-cloudformation';
import type { SQSClient } from '@aws-sdk/client-sqs';

/** Anything that sends SQS commands like an SQSClient (tests wrap a real client to inject faults). */
export interface SqsLike {
  send: SQSClient['send'];
}

/** Anything that sends CloudFormation commands like a CloudFormationClient. */
export interface CfnLike {
  send: CloudFormationClient['send'];
}

/** Where a command writes. `out` is the result (stdout), `err` notes and progress (stderr). Both take raw text. */
export interface Output {
  out(text: string): void;
  err(text: string): void;
  /** stderr is a terminal: progress lines are rewritten in place instead of appended. */
  errIsTTY?: boolean;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Waits `ms` milliseconds; resolves early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

export interface QueuePair {
  /** The main queue, where the sender reads. */
  queueUrl: string;
  /** Its dead-letter queue. */
  dlqUrl: string;
}

export interface CommandContext {
  sqs: SqsLike;
  queues: QueuePair;
  io: Output;
  clock: Clock;
  /** Aborted on Ctrl-C: commands stop between messages, make held messages visible again and report. */
  signal?: AbortSignal;
  /** Random, SQS-id-safe characters (fresh FIFO deduplication ids on redrive). */
  randomId: () => string;
  /** ReceiveMessage WaitTimeSeconds. Default 1: long polling asks every SQS server, so "empty" means empty. */
  receiveWaitSeconds?: number;
  /** The SQS endpoint in use, named in "cannot reach" errors. */
  endpoint?: string;
}

export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) =>
    new Promise<void>((resolve) => {
      if (ms <= 0 || signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      const timer = setTimeout(done, ms);
      signal?.addEventListener('abort', done, { once: true });
    }),
};

/** Writes lines to an Output. */
export function line(io: Output, text: string): void {
  io.out(`${text}\n`);
}

export function note(io: Output, text: string): void {
  io.err(`${text}\n`);
}
