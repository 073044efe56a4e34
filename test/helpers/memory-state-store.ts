/** An in-memory StateStore with DynamoDB's conditional semantics, for unit tests of the sender. */
import { applyCommit, type UserState } from '../../functions/core/state';
import type { StateStore } from '../../functions/shared/state-store';

export interface MemoryEventClaim {
  st: 'pending' | 'sent';
  tok?: string;
  lease?: number;
}

export function memoryStateStore(
  now: () => number = Date.now,
): StateStore & { items: Map<string, UserState>; claims: Map<string, MemoryEventClaim> } {
  const items = new Map<string, UserState>();
  const claims = new Map<string, MemoryEventClaim>();
  const read = (key: string): UserState => {
    const s = items.get(key);
    return s ? structuredClone(s) : { attributes: {}, recentIds: [] };
  };
  return {
    items,
    claims,
    async claimEvent(key, token, leaseUntilMs) {
      const c = claims.get(key);
      if (!c || (c.st === 'pending' && (c.lease ?? 0) < now())) {
        claims.set(key, { st: 'pending', tok: token, lease: leaseUntilMs });
        return { outcome: 'claimed' };
      }
      if (c.st === 'sent') return { outcome: 'sent' };
      return { outcome: 'busy', untilMs: Math.max(c.lease ?? 0, now()) };
    },
    async markEventSent(key) {
      claims.set(key, { st: 'sent' });
    },
    async releaseEvent(key, token) {
      const c = claims.get(key);
      if (c?.st === 'pending' && c.tok === token) c.lease = 0;
    },
    async read(key) {
      return read(key);
    },
    async readMany(keys) {
      return new Map(keys.map((key) => [key, read(key)]));
    },
    async commit(key, commit) {
      const current = items.get(key) ?? { attributes: {}, recentIds: [] };
      if (commit.version !== undefined && current.version !== undefined && !(current.version < commit.version)) return 'conflict';
      if (commit.attributeKeys && commit.attributeVersion !== undefined) {
        const v = commit.attributeVersion;
        if (current.version !== undefined && !(current.version < v)) return 'conflict';
        if (commit.attributeKeys.some((k) => current.attributes[k] !== undefined && !((current.attributes[k] as string) < v))) return 'conflict';
      }
      items.set(key, applyCommit(current, commit));
      return 'ok';
    },
  };
}


/** `store` under a key prefix: each property case gets its own users in one shared table. */
export function prefixedStore(store: StateStore, prefix: string): StateStore {
  return {
    read: (k) => store.read(prefix + k),
    readMany: async (keys) => {
      const states = await store.readMany(keys.map((k) => prefix + k));
      return new Map([...states].map(([k, state]) => [k.slice(prefix.length), state]));
    },
    commit: (k, c) => store.commit(prefix + k, c),
    claimEvent: (k, token, until) => store.claimEvent(prefix + k, token, until),
    markEventSent: (k) => store.markEventSent(prefix + k),
    releaseEvent: (k, token) => store.releaseEvent(prefix + k, token),
  };
}
