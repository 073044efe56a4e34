/**
 * Queue envelopes for the state and sender tests: the n-th versioned Clerk `user.updated` of a
 * user, its version T0 + n seconds (so a larger n is newer).
 */
import type { Envelope } from '../../functions/core/envelope';
import { versionKey } from '../../functions/core/version';

export const T0 = Date.parse('2026-12-01T10:00:00.000Z');

export function versionedEnvelope(n: number, over: Partial<Envelope> & { attrs?: Record<string, string> } = {}): Envelope {
  const { attrs, ...rest } = over;
  const eventId = rest.eventId ?? `evt_${n}`;
  return {
    v: 1,
    source: 'clerk',
    eventId,
    eventType: 'user.updated',
    receivedAt: new Date(T0).toISOString(),
    version: versionKey(T0 + n * 1000, eventId),
    userKey: 'u-1',
    payload: { type: 'customer', customer_id: 'user_1', attributes: attrs ?? { u_em: `e${n}@example.com`, u_fn: `F${n}` } },
    ...rest,
  };
}
