/**
 * Per-user state: what the sender already applied for a user of one source, and the judgement
 * of a queued event against it, so that MoEngage converges on the provider's latest state
 * whatever the delivery order. Pure: no I/O (functions/shared/state-store.ts keeps it in
 * DynamoDB).
 *
 * Rules (README, "Ordering, precisely"):
 * - Snapshot events (the event carries the user's whole state: Clerk, Stripe, Shopify, WorkOS,
 *   Auth0, a snapshot standard mapping) are applied only when their version is newer than the
 *   last version applied for that user; an older one is dropped (`stale`), an equal one is the
 *   same event (`duplicate`).
 * - Partial events (Segment identify, a `partial` standard mapping) are judged attribute by
 *   attribute: an attribute is sent only when the event is newer than the last applied value of
 *   that attribute; the event's other attributes still go. An event older than the user's last
 *   snapshot or deletion is dropped whole.
 * - A deletion is a snapshot ("no user") with a version: it leaves a tombstone, so that an older
 *   event arriving later does not re-create the user; a newer one is applied (and re-creates it).
 * - An event id applied recently (the last RECENT_IDS ids of the user) is a duplicate whatever
 *   its version, so that a replay re-signed with a new delivery timestamp is not sent again.
 * - An event without a version is applied unguarded (counted), and only deduplicated by its id.
 */
import * as nodeCrypto from 'node:crypto';
import type { Envelope } from './envelope';
import { isPlainObject, keyIdentifier, MOE_PREFIX } from './moengage/attributes';
import type { CustomerPayload } from './moengage/types';

/** How many recently applied event ids the state of a user keeps (their hashes). */
export const RECENT_IDS = 8;

export interface UserState {
  /** The version of the last snapshot (or deletion) applied. */
  version?: string;
  /** The last applied snapshot was a deletion (a tombstone). */
  deleted?: boolean;
  /** Partial sources: attribute key (attributeKey) → version of its last applied value. */
  attributes: Record<string, string>;
  /** Hashes (eventIdHash) of the most recently applied event ids, oldest first. */
  recentIds: string[];
}

const EMPTY_STATE: UserState = Object.freeze({ attributes: Object.freeze({}) as Record<string, string>, recentIds: Object.freeze([]) as unknown as string[] }) as UserState;

/** The stored key of an attribute name: a short hash (attribute names come from user data). */
export function attributeKey(name: string): string {
  return `a_${nodeCrypto.createHash('sha256').update(name).digest('base64url').slice(0, 16)}`;
}

/** The stored form of an event id: a short hash. */
export function eventIdHash(eventId: string): string {
  return nodeCrypto.createHash('sha256').update(eventId).digest('base64url').slice(0, 16);
}

/** The state store key of an envelope's user: per source (each provider has its own clock). */
export function stateKeyOf(envelope: Envelope, fallbackGroup?: string): string {
  const user = envelope.userKey ?? fallbackGroup ?? `c-${eventIdHash(envelope.payload.customer_id ?? envelope.eventId)}`;
  return `${envelope.source}#${user}`;
}

/**
 * The state store key of a provider event's MoEngage events (the Create Event claim): one item
 * per source and event id, apart from the user's item, so that the events are judged by their
 * own id whatever the attributes' fate (a stale `user.created` still fires its "Signed Up").
 */
export function eventClaimKey(source: string, eventId: string): string {
  return `${source}#event#${eventIdHash(eventId)}`;
}

/** What claiming a provider event's Create Event found. */
export type EventClaim =
  /** Ours until the lease ends: send it, then mark it sent (or release it on failure). */
  | { outcome: 'claimed' }
  /** Already accepted by MoEngage: not sent again. */
  | { outcome: 'sent' }
  /** Another delivery holds the claim until `untilMs` (epoch ms): try again later. */
  | { outcome: 'busy'; untilMs: number };

/** What the sender does with one queued event. */
export type Judgement =
  | {
      action: 'apply';
      /** What to send: the envelope's payload, or for a partial event its still-newer attributes. */
      payload: CustomerPayload;
      /** The state to write once MoEngage accepted it (conditional on `expected`). */
      commit: StateCommit;
      unversioned: boolean;
    }
  | { action: 'drop'; why: 'stale' | 'duplicate'; appliedVersion?: string };

/** A state change, written only if the user's state still allows it (no newer version landed meanwhile). */
export interface StateCommit {
  /** New snapshot version (snapshot events and deletions). */
  version?: string;
  deleted?: boolean;
  /** Partial events: attribute keys whose version becomes `attributeVersion`. */
  attributeKeys?: string[];
  attributeVersion?: string;
  /** The recent-ids list after this event (oldest first, at most RECENT_IDS). */
  recentIds: string[];
}

function withRecentId(state: UserState, id: string): string[] {
  const ids = state.recentIds.filter((x) => x !== id);
  ids.push(id);
  return ids.slice(-RECENT_IDS);
}

/** Judges a queued event against the user's state. */
export function judge(envelope: Envelope, state: UserState = EMPTY_STATE): Judgement {
  const idHash = eventIdHash(envelope.eventId);
  if (state.recentIds.includes(idHash)) return { action: 'drop', why: 'duplicate', ...(state.version ? { appliedVersion: state.version } : {}) };
  const recentIds = withRecentId(state, idHash);
  const version = envelope.version;
  if (version === undefined) {
    return { action: 'apply', payload: envelope.payload, commit: { recentIds }, unversioned: true };
  }
  if (state.version !== undefined && version <= state.version) {
    return { action: 'drop', why: version === state.version ? 'duplicate' : 'stale', appliedVersion: state.version };
  }
  // A partial source records versions per attribute only: a deletion (or a snapshot) older than
  // an attribute already applied is older than the user MoEngage now holds (the user came back).
  if (!envelope.partial) {
    const newestAttribute = newestAttributeVersion(state);
    if (newestAttribute !== undefined && version < newestAttribute) return { action: 'drop', why: 'stale', appliedVersion: newestAttribute };
  }
  if (envelope.op === 'delete') {
    return { action: 'apply', payload: envelope.payload, commit: { version, deleted: true, recentIds }, unversioned: false };
  }
  if (!envelope.partial) {
    return { action: 'apply', payload: envelope.payload, commit: { version, recentIds }, unversioned: false };
  }
  // Partial: only the attributes this event is newer for.
  const attributes = envelope.payload.attributes ?? {};
  const kept: Record<string, unknown> = {};
  const keys: string[] = [];
  let newest: string | undefined;
  /** Whether this event is newer for `key`; records the newest applied version it is not newer than. */
  const newer = (key: string): boolean => {
    const applied = state.attributes[key];
    if (applied !== undefined && version <= applied) {
      if (newest === undefined || applied > newest) newest = applied;
      return false;
    }
    keys.push(key);
    return true;
  };
  for (const [name, value] of Object.entries(attributes)) {
    if (ARRAY_OPS.has(name) && isPlainObject(value)) {
      // Array operations are changes, not values: judged per array and value, the key shared by
      // adding and removing it, so that two adds commute and an add and a remove of one value
      // end as in the provider's order.
      const ops = keptArrayOps(value, newer);
      if (ops) defineOwn(kept, name, ops);
      continue;
    }
    if (newer(attributeKey(name))) defineOwn(kept, name, value);
  }
  if (keys.length === 0 && Object.keys(attributes).length > 0) {
    return { action: 'drop', why: newest === version ? 'duplicate' : 'stale', ...(newest ? { appliedVersion: newest } : {}) };
  }
  // Without a customer_id, MoEngage finds the user by an identity-resolution identifier: keep the
  // one the event is keyed on even where a newer event already set it, or the update would name
  // no user (MoEngage refuses it; in bulk mode it is lost without a word). Identity, not state:
  // it does not make the event apply, and its version is not recorded.
  // The identifiers are the payload's `moe_` attributes (the builder lets no other through); the
  // one keyed on follows the FIFO group key's rule (keyIdentifier), so it is the same every event.
  const identity =
    envelope.payload.customer_id === undefined
      ? keyIdentifier(attributes, (name, value) => name.startsWith(MOE_PREFIX) && typeof value === 'string' && value !== '')?.name
      : undefined;
  if (identity !== undefined && !Object.prototype.hasOwnProperty.call(kept, identity)) {
    defineOwn(kept, identity, attributes[identity]);
  }
  return {
    action: 'apply',
    payload: { ...envelope.payload, attributes: kept as CustomerPayload['attributes'] },
    commit: { attributeKeys: keys, attributeVersion: version, recentIds },
    unversioned: false,
  };
}

/** Sets an own, enumerable property: a name from the payload (`__proto__` included) stays plain data. */
function defineOwn(target: Record<string, unknown>, name: string, value: unknown): void {
  Object.defineProperty(target, name, { value, enumerable: true, writable: true, configurable: true });
}

/** The payload's array operations (attribute name → values added to / removed from it). */
const ARRAY_OPS: ReadonlySet<string> = new Set(['addValueToArrayField', 'removeValueFromArrayField']);

/** The state key of one value of an array attribute (its type too: 1 and "1" are two values). */
export function arrayValueKey(arrayName: string, value: unknown): string {
  return attributeKey(`array:${arrayName}:${typeof value}:${String(value)}`);
}

/** An array operation with only the values `newer` accepts; undefined when none is left. */
function keptArrayOps(op: Record<string, unknown>, newer: (key: string) => boolean): Record<string, unknown[]> | undefined {
  const out: Record<string, unknown[]> = {};
  let any = false;
  for (const [arrayName, values] of Object.entries(op)) {
    if (!Array.isArray(values)) continue;
    const keptValues = values.filter((v) => newer(arrayValueKey(arrayName, v)));
    if (keptValues.length === 0) continue;
    defineOwn(out, arrayName, keptValues);
    any = true;
  }
  return any ? out : undefined;
}

/** The newest version among a partial source's applied attributes (undefined when none). */
function newestAttributeVersion(state: UserState): string | undefined {
  let newest: string | undefined;
  for (const key of Object.keys(state.attributes)) {
    const v = state.attributes[key];
    if (v !== undefined && (newest === undefined || v > newest)) newest = v;
  }
  return newest;
}

/** The state after a commit (what the store holds once it succeeded). */
export function applyCommit(state: UserState, commit: StateCommit): UserState {
  const next: UserState = { ...state, attributes: { ...state.attributes }, recentIds: commit.recentIds };
  if (commit.version !== undefined) {
    next.version = commit.version;
    if (commit.deleted) next.deleted = true;
    else delete next.deleted;
  }
  if (commit.attributeKeys && commit.attributeVersion !== undefined) {
    for (const key of commit.attributeKeys) next.attributes[key] = commit.attributeVersion;
    // A partial update after a deletion re-creates the user at MoEngage: no longer a tombstone.
    delete next.deleted;
  }
  return next;
}
