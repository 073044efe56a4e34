import { describe, expect, it } from 'vitest';
import { toEntry } from '../../bin/dlq/entry';
import { createPacer, freshDeduplicationId, groupIdFor, keptAttributes, sendInput } from '../../bin/dlq/redrive';
import type { Clock } from '../../bin/dlq/types';
import { parkAttributes } from '../../functions/core/dlq';
import { encodeEnvelope, messageGroupId } from '../../functions/core/envelope';

const SQS_ID = /^[A-Za-z0-9!"#$%&'()*+,\-./:;<=>?@[\\\]^_`{|}~]{1,128}$/;

function fakeClock(start = 1_000_000) {
  let t = start;
  const sleeps: number[] = [];
  const clock: Clock = {
    now: () => t,
    sleep: async (ms) => {
      sleeps.push(ms);
      t += ms;
    },
  };
  return { clock, sleeps, advance: (ms: number) => void (t += ms) };
}

describe('createPacer', () => {
  it('spaces sends 1/rate seconds apart, starting at once', async () => {
    const { clock, sleeps } = fakeClock();
    const pace = createPacer(clock, 4);
    for (let i = 0; i < 5; i++) await pace();
    expect(sleeps).toEqual([250, 250, 250, 250]);
  });

  it('does not burst to catch up after a slow send, and waits only the rest of a slot', async () => {
    const { clock, sleeps, advance } = fakeClock();
    const pace = createPacer(clock, 2);
    await pace();
    advance(2000); // a slow send
    await pace();
    advance(100);
    await pace();
    expect(sleeps).toEqual([400]);
  });

  it('does nothing without a rate', async () => {
    const { clock, sleeps } = fakeClock();
    const pace = createPacer(clock, undefined);
    await pace();
    await pace();
    expect(sleeps).toEqual([]);
  });
});

describe('freshDeduplicationId', () => {
  it('appends :r:<time><random> to the original', () => {
    expect(freshDeduplicationId('clerk:evt_1', 1_700_000_000_000, 'a1b2c3')).toBe(`clerk:evt_1:r:${(1_700_000_000_000).toString(36)}a1b2c3`);
  });

  it('does not grow on repeated redrives and stays within 128 valid characters', () => {
    const once = freshDeduplicationId('stripe:evt_1', 1, 'aaaa');
    const twice = freshDeduplicationId(once, 2, 'bbbb');
    expect(twice).toBe('stripe:evt_1:r:2bbbb');
    const long = freshDeduplicationId('x'.repeat(200), 1_700_000_000_000, 'f'.repeat(40));
    expect(long.length).toBeLessThanOrEqual(128);
    expect(long).toMatch(SQS_ID);
    expect(freshDeduplicationId('bad id with spaces ü', 5, 'r-1_')).toMatch(SQS_ID);
  });

  it('differs from the original and between runs', () => {
    const a = freshDeduplicationId('src:e', 10, 'aaa');
    const b = freshDeduplicationId('src:e', 10, 'bbb');
    expect(a).not.toBe('src:e');
    expect(a).not.toBe(b);
  });
});

describe('keptAttributes', () => {
  it('drops the failure attributes and keeps the rest', () => {
    const attrs = {
      ...parkAttributes({ reason: 'auth_failed', status: 401, attempts: 3, failedAt: '2026-01-01T00:00:00Z', detail: { type: 'X' } }, { source: 'clerk', eventType: 'user.created' }),
      trace: { DataType: 'String', StringValue: 'abc' },
      blob: { DataType: 'Binary', BinaryValue: new Uint8Array([1, 2]) },
    };
    expect(Object.keys(keptAttributes(attrs)).sort()).toEqual(['blob', 'event_type', 'source', 'trace']);
  });
});

describe('sendInput', () => {
  const body = encodeEnvelope({
    v: 1,
    source: 'auth0',
    eventId: 'evt_9',
    eventType: 'user.updated',
    receivedAt: '2026-01-01T00:00:00Z',
    payload: { type: 'customer', customer_id: 'auth0|abc' },
  });

  it('FIFO: keeps the message group, gives a fresh dedup id and the same body', () => {
    const entry = toEntry({
      MessageId: 'm',
      ReceiptHandle: 'h',
      Body: body,
      MessageAttributes: parkAttributes({ reason: 'retries_exhausted', attempts: 5, failedAt: 'x' }),
      Attributes: { MessageGroupId: 'u-group', MessageDeduplicationId: 'auth0:evt_9' },
    });
    const input = sendInput(entry, 'https://q/main.fifo', true, 36, 'zz');
    expect(input).toEqual({ QueueUrl: 'https://q/main.fifo', MessageBody: body, MessageGroupId: 'u-group', MessageDeduplicationId: 'auth0:evt_9:r:10zz' });
  });

  it('standard queue: no group or dedup id', () => {
    const entry = toEntry({ MessageId: 'm', ReceiptHandle: 'h', Body: body });
    expect(sendInput(entry, 'https://q/main', false, 1, 'r')).toEqual({ QueueUrl: 'https://q/main', MessageBody: body });
  });

  it('without a recorded group, falls back to the user\'s group', () => {
    expect(groupIdFor(toEntry({ MessageId: 'm', ReceiptHandle: 'h', Body: body }))).toBe(messageGroupId('auth0|abc'));
    expect(groupIdFor(toEntry({ MessageId: 'm2', ReceiptHandle: 'h', Body: 'raw' }))).toBe(messageGroupId('dlq:m2'));
  });
});
