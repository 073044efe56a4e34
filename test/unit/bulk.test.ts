import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  BULK_ENVELOPE_BYTES,
  bulkBody,
  packBulkRequests,
  type BulkGroup,
} from '../../functions/core/moengage/bulk';
import { MAX_BULK_REQUEST_BYTES } from '../../functions/core/moengage/limits';
import type { CustomerPayload } from '../../functions/core/moengage/types';

interface Item {
  id: number;
  payload: CustomerPayload;
}

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');
const item = (id: number, name: string): Item => ({ id, payload: { type: 'customer', customer_id: `u${id}`, attributes: { u_fn: name } } });
const payloadOf = (i: Item) => i.payload;
const bodyOf = (g: BulkGroup<Item>) => bulkBody(g.items.map(payloadOf));

/** The invariants every packing must satisfy. */
function checkPacking(items: Item[], groups: BulkGroup<Item>[], maxBytes: number) {
  const sendable = groups.filter((g) => !g.oversized);
  for (const g of groups) {
    expect(g.items.length).toBeGreaterThan(0);
    expect(g.bytes).toBe(bytes(bodyOf(g))); // exact accounting
    if (g.oversized) {
      expect(g.items).toHaveLength(1);
      expect(g.bytes).toBeGreaterThan(maxBytes);
    } else {
      expect(g.bytes).toBeLessThanOrEqual(maxBytes);
    }
  }
  // maximal: the first item of the next request would not have fit into the previous one
  for (let i = 0; i + 1 < sendable.length; i++) {
    const joined = [...sendable[i]!.items, sendable[i + 1]!.items[0]!].map(payloadOf);
    expect(bytes(bulkBody(joined))).toBeGreaterThan(maxBytes);
  }
  // order kept, nothing lost or duplicated
  const oversizedIds = new Set(groups.filter((g) => g.oversized).map((g) => g.items[0]!.id));
  expect(sendable.flatMap((g) => g.items.map((i) => i.id))).toEqual(items.filter((i) => !oversizedIds.has(i.id)).map((i) => i.id));
  expect(groups.reduce((n, g) => n + g.items.length, 0)).toBe(items.length);
  for (const i of items) expect(oversizedIds.has(i.id)).toBe(bytes(bulkBody([i.payload])) > maxBytes);
}

describe('bulkBody', () => {
  it('is the documented transition body', () => {
    const a: CustomerPayload = { type: 'customer', customer_id: 'a', attributes: { u_em: 'x' } };
    const b: CustomerPayload = { type: 'customer', customer_id: 'b', update_existing_only: true };
    expect(bulkBody([a, b])).toBe(
      '{"type":"transition","elements":[{"type":"customer","customer_id":"a","attributes":{"u_em":"x"}},{"type":"customer","customer_id":"b","update_existing_only":true}]}',
    );
    expect(BULK_ENVELOPE_BYTES).toBe(bytes('{"type":"transition","elements":[]}'));
    expect(MAX_BULK_REQUEST_BYTES).toBe(100_000);
  });
});

describe('packBulkRequests', () => {
  it('packs realistic users into requests of at most 100,000 bytes, each as full as possible', () => {
    const items = Array.from({ length: 3000 }, (_, i) => item(i, `${'Zoë 李 😀 '.repeat(i % 17)}name-${i}`));
    const groups = packBulkRequests(items, payloadOf);
    expect(groups.length).toBeGreaterThan(1);
    checkPacking(items, groups, MAX_BULK_REQUEST_BYTES);
    for (const g of groups) expect(bytes(bodyOf(g))).toBeLessThanOrEqual(100_000);
  });

  it('counts multi-byte characters and commas exactly at the boundary', () => {
    const emptyName = bytes(JSON.stringify(item(1, '').payload));
    // Two elements filling exactly maxBytes: envelope + e1 + ',' + e2 = max.
    const max = 1_000;
    const room = max - BULK_ENVELOPE_BYTES - 1 - 2 * emptyName; // bytes left for the two names
    const euro = '€'; // 3 bytes in UTF-8, 1 UTF-16 unit
    const n1 = euro.repeat(Math.floor(room / 2 / 3));
    const rest = room - bytes(n1);
    const n2 = euro.repeat(Math.floor(rest / 3)) + 'a'.repeat(rest % 3);
    const exact = [item(1, n1), item(2, n2)];
    expect(bytes(bulkBody(exact.map(payloadOf)))).toBe(max);
    expect(packBulkRequests(exact, payloadOf, max)).toEqual([{ items: exact, bytes: max, oversized: false }]);

    const oneMore = [item(1, n1), item(2, `${n2}a`)];
    const split = packBulkRequests(oneMore, payloadOf, max);
    expect(split.map((g) => g.items.map((i) => i.id))).toEqual([[1], [2]]);
    checkPacking(oneMore, split, max);
  });

  it('flags an element too big to be sent alone, without breaking the order of the others', () => {
    const max = 400;
    const items = [item(1, 'a'), item(2, 'b'), item(3, 'x'.repeat(500)), item(4, 'c'), item(5, 'd')];
    const groups = packBulkRequests(items, payloadOf, max);
    expect(groups.map((g) => [g.oversized, g.items.map((i) => i.id)])).toEqual([
      [true, [3]],
      [false, [1, 2, 4, 5]],
    ]);
    checkPacking(items, groups, max);
  });

  it('holds its invariants for arbitrary Unicode payloads', () => {
    const arbItems = fc
      .array(fc.record({ name: fc.string({ unit: 'binary', maxLength: 120 }), extra: fc.dictionary(fc.string({ minLength: 1, maxLength: 8 }), fc.oneof(fc.integer(), fc.boolean(), fc.string({ unit: 'grapheme', maxLength: 30 })), { maxKeys: 4 }) }), {
        maxLength: 60,
      })
      .map((rows) =>
        rows.map((r, id): Item => ({ id, payload: { type: 'customer', customer_id: `c${id}`, attributes: { ...r.extra, u_fn: r.name } } })),
      );
    fc.assert(
      fc.property(arbItems, fc.integer({ min: BULK_ENVELOPE_BYTES + 1, max: 2_000 }), (items, max) => {
        checkPacking(items, packBulkRequests(items, payloadOf, max), max);
      }),
      { numRuns: 300 },
    );
  });

  it('calls payloadOf once per item, handles no items, refuses an impossible maximum', () => {
    let calls = 0;
    const items = [item(1, 'a'), item(2, 'b'), item(3, 'c')];
    packBulkRequests(
      items,
      (i) => {
        calls++;
        return i.payload;
      },
      200,
    );
    expect(calls).toBe(3);
    expect(packBulkRequests([], payloadOf)).toEqual([]);
    expect(() => packBulkRequests(items, payloadOf, BULK_ENVELOPE_BYTES)).toThrow(RangeError);
    expect(() => packBulkRequests(items, payloadOf, Number.NaN)).toThrow(RangeError);
  });
});
