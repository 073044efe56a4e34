import { describe, expect, it } from 'vitest';
import { toEntry } from '../../bin/dlq/entry';
import { countBy, entryRow, formatAge, maskCustomerId, renderTable, TABLE_HEADERS } from '../../bin/dlq/format';
import { parkAttributes } from '../../functions/core/dlq';
import { encodeEnvelope } from '../../functions/core/envelope';

describe('maskCustomerId', () => {
  it.each([
    ['user_2abcDEFghiJKLmnoPQRs9xz', 'user_2ab…9xz'],
    ['jane.doe@example.com', 'j***@example.com'],
    ['+14155550123', '+1…23'],
    ['7012345678901', '7…01'],
    ['cus_ABC12345', 'cus…45'],
    ['abcdef', 'a…f'],
    ['ab', 'a…'],
    ['', '-'],
    [null, '-'],
  ])('%s -> %s', (id, masked) => {
    expect(maskCustomerId(id)).toBe(masked);
  });

  it('never shows the whole id or the local part of an email', () => {
    for (const id of ['user_2abcDEFghiJKLmnoPQRs9xz', 'someone.private@corp.example', 'auth0|64f0c0ffee', '12345678']) {
      const masked = maskCustomerId(id);
      expect(masked).not.toBe(id);
      expect(masked.includes('…') || masked.includes('***')).toBe(true);
    }
    expect(maskCustomerId('someone.private@corp.example')).not.toContain('someone');
  });
});

describe('formatAge', () => {
  const now = Date.parse('2026-03-02T12:00:00Z');
  it.each([
    [now - 42_000, '42s'],
    [now - 5 * 60_000, '5m'],
    [now - 3 * 3_600_000, '3h'],
    [now - 2 * 86_400_000, '2d'],
    [now + 10_000, '0s'],
    [null, '-'],
  ])('%s -> %s', (from, age) => {
    expect(formatAge(from, now)).toBe(age);
  });
});

describe('renderTable', () => {
  it('aligns columns with two spaces and no trailing blanks', () => {
    expect(renderTable(['A', 'BB', 'C'], [['xyz', 'y', ''], ['1', '22', '3']])).toBe('A    BB  C\nxyz  y\n1    22  3\n');
  });
});

describe('entryRow', () => {
  it('builds the list row from an envelope and its park attributes, falling back to SentTimestamp for the age', () => {
    const now = Date.parse('2026-03-02T12:00:00Z');
    const entry = toEntry({
      MessageId: 'm-1',
      ReceiptHandle: 'h',
      Body: encodeEnvelope({
        v: 1,
        source: 'clerk',
        eventId: 'evt_1',
        eventType: 'user.created',
        receivedAt: '2026-03-02T11:00:00Z',
        payload: { type: 'customer', customer_id: 'user_2abcDEFghiJKLmnoPQRs9xz' },
      }),
      MessageAttributes: parkAttributes({ reason: 'retries_exhausted', attempts: 5, failedAt: 'not a date', status: 502 }),
      Attributes: { SentTimestamp: String(now - 90_000) },
    });
    expect(entryRow(entry, now)).toEqual(['1m', 'clerk', 'user.created', 'user_2ab…9xz', 'retries_exhausted', '502', '5']);
    expect(TABLE_HEADERS).toHaveLength(entryRow(entry, now).length);
  });

  it('shows dashes for what a raw message does not say', () => {
    const entry = toEntry({ MessageId: 'm-2', ReceiptHandle: 'h', Body: '{"hello":1}' });
    expect(entryRow(entry, 0)).toEqual(['-', '-', '-', '-', 'unknown', '-', '-']);
  });
});

describe('countBy', () => {
  it('counts most frequent first, then by name', () => {
    let n = 0;
    const mk = (reason: string) =>
      toEntry({ MessageId: `m-${++n}`, ReceiptHandle: 'h', Body: 'x', MessageAttributes: { failure_reason: { DataType: 'String', StringValue: reason } } });
    expect(countBy([mk('b'), mk('a'), mk('b'), mk('c')], (e) => e.reason)).toBe('b 2, a 1, c 1');
  });
});
