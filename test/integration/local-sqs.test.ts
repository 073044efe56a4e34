import {
  ChangeMessageVisibilityCommand,
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageCommand,
  type Message,
} from '@aws-sdk/client-sqs';
import { connect } from 'node:net';
import { networkInterfaces } from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DLQ_RETENTION_SECONDS, QUEUE_RETENTION_SECONDS, startLocalSqs, type LocalSqs } from '../../local/sqs';

async function attributes(sqs: LocalSqs, url: string): Promise<Record<string, string>> {
  const out = await sqs.client.send(new GetQueueAttributesCommand({ QueueUrl: url, AttributeNames: ['All'] }));
  return out.Attributes ?? {};
}

async function receive(sqs: LocalSqs, url: string, max = 10): Promise<Message[]> {
  const out = await sqs.client.send(
    new ReceiveMessageCommand({
      QueueUrl: url,
      MaxNumberOfMessages: max,
      WaitTimeSeconds: 0,
      MessageSystemAttributeNames: ['All'],
      MessageAttributeNames: ['All'],
    }),
  );
  return out.Messages ?? [];
}

function firstExternalIPv4(): string | undefined {
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
  });
}

describe('local SQS (FIFO, as deployed)', () => {
  let sqs: LocalSqs;

  beforeAll(async () => {
    sqs = await startLocalSqs({ port: 0, queueType: 'fifo', maxReceiveCount: 2, visibilityTimeoutSeconds: 180 });
  });
  afterAll(async () => {
    await sqs.stop();
  });

  it('creates the main queue and its DLQ as FIFO queues with the redrive policy', async () => {
    expect(sqs.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(sqs.queueName).toBe('moengage-adapter-queue.fifo');
    expect(sqs.dlqName).toBe('moengage-adapter-dlq.fifo');
    expect(sqs.queueArn).toBe('arn:aws:sqs:us-east-1:000000000000:moengage-adapter-queue.fifo');
    expect(sqs.dlqArn).toBe('arn:aws:sqs:us-east-1:000000000000:moengage-adapter-dlq.fifo');

    const main = await attributes(sqs, sqs.queueUrl);
    expect(main.FifoQueue).toBe('true');
    expect(main.ContentBasedDeduplication).toBe('false');
    expect(main.VisibilityTimeout).toBe('180');
    expect(main.MessageRetentionPeriod).toBe(String(QUEUE_RETENTION_SECONDS));
    expect(QUEUE_RETENTION_SECONDS).toBe(14 * 86_400);
    expect(JSON.parse(main.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: sqs.dlqArn, maxReceiveCount: 2 });

    const dlq = await attributes(sqs, sqs.dlqUrl);
    expect(dlq.FifoQueue).toBe('true');
    expect(dlq.ContentBasedDeduplication).toBe('false');
    expect(dlq.MessageRetentionPeriod).toBe(String(DLQ_RETENTION_SECONDS));
    expect(dlq.RedrivePolicy).toBeUndefined();
  });

  it('listens on the loopback address only', async () => {
    expect(await canConnect('127.0.0.1', sqs.port)).toBe(true);
    const external = firstExternalIPv4();
    if (external) expect(await canConnect(external, sqs.port)).toBe(false);
  });

  it('refuses a FIFO message without a deduplication id (no content-based deduplication)', async () => {
    await expect(
      sqs.client.send(new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: 'x', MessageGroupId: 'g0' })),
    ).rejects.toThrow(/ContentBasedDeduplication|MessageDeduplicationId/);
  });

  it('deduplicates by MessageDeduplicationId and returns system and message attributes', async () => {
    const send = () =>
      sqs.client.send(
        new SendMessageCommand({
          QueueUrl: sqs.queueUrl,
          MessageBody: '{"n":1}',
          MessageGroupId: 'g-dedup',
          MessageDeduplicationId: 'clerk:evt_1',
          MessageAttributes: { source: { DataType: 'String', StringValue: 'clerk' } },
        }),
      );
    const first = await send();
    const second = await send();
    expect(second.MessageId).toBe(first.MessageId);
    expect(second.SequenceNumber).toBe(first.SequenceNumber);

    const got = await receive(sqs, sqs.queueUrl);
    expect(got).toHaveLength(1);
    const m = got[0]!;
    expect(m.MessageId).toBe(first.MessageId);
    expect(m.Attributes).toMatchObject({
      ApproximateReceiveCount: '1',
      MessageGroupId: 'g-dedup',
      MessageDeduplicationId: 'clerk:evt_1',
      SequenceNumber: first.SequenceNumber,
      SenderId: expect.any(String),
      SentTimestamp: expect.stringMatching(/^\d+$/),
      ApproximateFirstReceiveTimestamp: expect.stringMatching(/^\d+$/),
    });
    expect(m.MessageAttributes?.source).toMatchObject({ DataType: 'String', StringValue: 'clerk' });
    await sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m.ReceiptHandle }));
    expect(await receive(sqs, sqs.queueUrl)).toHaveLength(0);
  });

  it('keeps a message group locked while one of its messages is in flight', async () => {
    for (const n of [1, 2]) {
      await sqs.client.send(
        new SendMessageCommand({ QueueUrl: sqs.queueUrl, MessageBody: `m${n}`, MessageGroupId: 'g-lock', MessageDeduplicationId: `lock-${n}` }),
      );
    }
    const first = await receive(sqs, sqs.queueUrl);
    expect(first[0]?.Body).toBe('m1');
    const whileInFlight = await receive(sqs, sqs.queueUrl);
    expect(whileInFlight.filter((m) => m.Attributes?.MessageGroupId === 'g-lock')).toHaveLength(0);
    for (const m of first) await sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m.ReceiptHandle }));
    const next = await receive(sqs, sqs.queueUrl);
    // In order across receives, each message once.
    expect([...first, ...next].map((m) => m.Body)).toEqual(['m1', 'm2']);
    for (const m of next) await sqs.client.send(new DeleteMessageCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: m.ReceiptHandle }));
  });

  it('moves a message to the DLQ after maxReceiveCount receives (ChangeMessageVisibility 0 returns it at once)', async () => {
    const sent = await sqs.client.send(
      new SendMessageCommand({
        QueueUrl: sqs.queueUrl,
        MessageBody: 'poison',
        MessageGroupId: 'g-poison',
        MessageDeduplicationId: 'poison-1',
        MessageAttributes: { source: { DataType: 'String', StringValue: 'stripe' } },
      }),
    );
    for (const expected of ['1', '2']) {
      const got = await receive(sqs, sqs.queueUrl);
      expect(got).toHaveLength(1);
      expect(got[0]?.Attributes?.ApproximateReceiveCount).toBe(expected);
      await sqs.client.send(new ChangeMessageVisibilityCommand({ QueueUrl: sqs.queueUrl, ReceiptHandle: got[0]?.ReceiptHandle, VisibilityTimeout: 0 }));
    }
    // Third receive: over maxReceiveCount (2), SQS moves it to the DLQ instead of delivering it.
    expect(await receive(sqs, sqs.queueUrl)).toHaveLength(0);
    const parked = await receive(sqs, sqs.dlqUrl);
    expect(parked).toHaveLength(1);
    expect(parked[0]?.MessageId).toBe(sent.MessageId);
    expect(parked[0]?.Body).toBe('poison');
    expect(parked[0]?.Attributes?.MessageGroupId).toBe('g-poison');
    expect(parked[0]?.MessageAttributes?.source?.StringValue).toBe('stripe');
  });
});

describe('local SQS (standard)', () => {
  let sqs: LocalSqs;

  beforeAll(async () => {
    sqs = await startLocalSqs({ port: 0, queueType: 'standard', maxReceiveCount: 5, visibilityTimeoutSeconds: 30 });
  });
  afterAll(async () => {
    await sqs.stop();
  });

  it('creates standard queues with the same redrive policy', async () => {
    expect(sqs.queueName).toBe('moengage-adapter-queue');
    expect(sqs.dlqName).toBe('moengage-adapter-dlq');
    const main = await attributes(sqs, sqs.queueUrl);
    expect(main.FifoQueue).toBeUndefined();
    expect(main.VisibilityTimeout).toBe('30');
    expect(JSON.parse(main.RedrivePolicy ?? '{}')).toEqual({ deadLetterTargetArn: sqs.dlqArn, maxReceiveCount: 5 });
  });

  it('refuses invalid settings before starting anything', async () => {
    await expect(startLocalSqs({ maxReceiveCount: 0 })).rejects.toThrow(/maxReceiveCount/);
    await expect(startLocalSqs({ queueType: 'fifo', queueName: 'plain', dlqName: 'plain-dlq' })).rejects.toThrow(/\.fifo/);
  });
});
