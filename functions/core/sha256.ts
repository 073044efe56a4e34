/**
 * SHA-256, the one place that picks how: node's one-shot `crypto.hash` where it exists
 * (Node >= 20.12; several times faster than createHash on short input), else createHash
 * (Node 20.11, the oldest `engines` allows).
 */
import * as nodeCrypto from 'node:crypto';

const oneShot = (nodeCrypto as { hash?: typeof nodeCrypto.hash }).hash;

/** SHA-256 of `data` as a Buffer, or as hex text with `'hex'`. */
export function sha256(data: string | Buffer): Buffer;
export function sha256(data: string | Buffer, encoding: 'hex'): string;
export function sha256(data: string | Buffer, encoding?: 'hex'): Buffer | string {
  if (oneShot) return encoding ? oneShot('sha256', data, encoding) : oneShot('sha256', data, 'buffer');
  const h = nodeCrypto.createHash('sha256').update(data);
  return encoding ? h.digest(encoding) : h.digest();
}
