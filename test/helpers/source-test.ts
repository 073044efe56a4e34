/** Small helpers shared by the source unit tests. */
import type { Mapped } from '../../functions/sources/types';

/** The payload of a mapping result, or a failure naming what came instead. */
export function payloadOf(m: Mapped): Extract<Mapped, { kind: 'payload' }> {
  if (m.kind !== 'payload') throw new Error(`expected a payload, got ${JSON.stringify(m)}`);
  return m;
}

/** A JSON body with an edit applied (fixtures stay untouched). */
export function withBody(raw: string, edit: (body: Record<string, any>) => void): string {
  const body = JSON.parse(raw) as Record<string, any>;
  edit(body);
  return JSON.stringify(body);
}
