/**
 * Bulk Import packing (contract.md, "What reaches MoEngage"): the body
 * `{"type":"transition","elements":[...]}` of each request is at most 100,000 bytes.
 * Pure; byte counts are exact UTF-8 lengths of the JSON text the client sends.
 */
import { MAX_BULK_REQUEST_BYTES } from './limits';
import type { BulkElement } from './types';

/** The exact body of a Bulk Import request (what MoEngageClient.bulkImport sends). */
export function bulkBody(elements: BulkElement[]): string {
  return JSON.stringify({ type: 'transition', elements });
}

/** Bytes of `{"type":"transition","elements":[]}`: the envelope around the elements. */
export const BULK_ENVELOPE_BYTES = Buffer.byteLength(bulkBody([]), 'utf8');

export interface BulkGroup<T> {
  /** Items of one request, in their original order. */
  items: T[];
  /** Exact UTF-8 length of bulkBody(items.flatMap(payloadOf)). */
  bytes: number;
  /**
   * True for a single item whose request alone exceeds maxBytes: it cannot travel in a Bulk
   * Import request, so the sender sends it with Track User (whose limit is 128 KB) instead.
   */
  oversized: boolean;
}

/**
 * Greedy, order-preserving packing: each group is as large as it can be (the next sendable
 * item would not fit), with the body's exact byte count, separating commas included. An item
 * too big to fit alone gets a group of its own, flagged `oversized`, emitted where it was met;
 * it does not interrupt the group being filled, so the sendable items, read group after
 * group, keep their original order. `payloadOf` is called once per item; an item may be
 * several elements (a user's customer element and its event element), which always travel in
 * one request.
 */
export function packBulkRequests<T>(
  items: readonly T[],
  payloadOf: (item: T) => BulkElement | readonly BulkElement[],
  maxBytes: number = MAX_BULK_REQUEST_BYTES,
): BulkGroup<T>[] {
  if (!Number.isFinite(maxBytes) || maxBytes <= BULK_ENVELOPE_BYTES) {
    throw new RangeError(`maxBytes must be more than ${BULK_ENVELOPE_BYTES} (the size of an empty Bulk Import body)`);
  }
  const groups: BulkGroup<T>[] = [];
  let current: BulkGroup<T> | undefined;
  for (const item of items) {
    const elements = payloadOf(item);
    // Several elements: their JSON array text without the brackets (elements and commas).
    const elementBytes = Array.isArray(elements) ? Buffer.byteLength(JSON.stringify(elements), 'utf8') - 2 : Buffer.byteLength(JSON.stringify(elements), 'utf8');
    const alone = BULK_ENVELOPE_BYTES + elementBytes;
    if (alone > maxBytes) {
      // Not part of any Bulk Import request, so it does not close the group being filled.
      groups.push({ items: [item], bytes: alone, oversized: true });
      continue;
    }
    if (current && current.bytes + 1 + elementBytes <= maxBytes) {
      current.items.push(item);
      current.bytes += 1 + elementBytes; // the comma before it
      continue;
    }
    if (current) groups.push(current);
    current = { items: [item], bytes: alone, oversized: false };
  }
  if (current) groups.push(current);
  return groups;
}
