/** An in-memory StateStore with DynamoDB's conditional semantics, for unit tests of the sender. */
import { applyCommit, type UserState } from '../../functions/core/state';
import type { StateStore } from '../../functions/shared/state-store';

export function memoryStateStore(): StateStore & { items: Map<string, UserState> } {
  const items = new Map<string, UserState>();
  return {
    items,
    async read(key) {
      const s = items.get(key);
      return s ? structuredClone(s) : { attributes: {}, recentIds: [] };
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

