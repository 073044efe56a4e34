import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  decodeWhsecSecret,
  hmacEncoded,
  hmacPrefixed,
  parseTimestampedHeader,
  safeEqual,
  safeEqualAny,
  verifySvixStyle,
  type SvixStyleInput,
} from '../../functions/sources/crypto';

describe('hmacEncoded, hmacPrefixed', () => {
  // RFC 4231 test case 2 and RFC 2202 test case 2 (key "Jefe").
  const data = Buffer.from('what do ya want for nothing?', 'utf8');
  const sha256Hex = '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843';
  it('match the published HMAC-SHA256 and HMAC-SHA1 test vectors, in hex and base64', () => {
    expect(hmacEncoded('sha256', 'Jefe', data, 'hex')).toBe(sha256Hex);
    expect(hmacEncoded('sha256', 'Jefe', data, 'base64')).toBe(Buffer.from(sha256Hex, 'hex').toString('base64'));
    expect(hmacEncoded('sha1', 'Jefe', data, 'hex')).toBe('effcdf6ae5eb2fa2d27416d5f184df9c259a7c79');
    // the prefix and the data are signed as one message
    expect(hmacPrefixed('sha256', 'Jefe', 'what do ya ', Buffer.from('want for nothing?', 'utf8'), 'hex')).toBe(sha256Hex);
  });

  it('treat a string key and its UTF-8 bytes alike, and sign raw bytes as given', () => {
    const body = Buffer.from([0x7b, 0xff, 0xfe, 0x7d]); // not valid UTF-8
    expect(hmacEncoded('sha256', 'k€y', body, 'hex')).toBe(hmacEncoded('sha256', Buffer.from('k€y', 'utf8'), body, 'hex'));
    expect(hmacEncoded('sha256', 'key', body, 'base64')).toBe(createHmac('sha256', 'key').update(body).digest('base64'));
    expect(hmacPrefixed('sha256', 'key', 'id.1.', body, 'base64')).toBe(
      createHmac('sha256', 'key').update(Buffer.concat([Buffer.from('id.1.'), body])).digest('base64'),
    );
  });
});

describe('safeEqual', () => {
  it('is true only for identical byte strings', () => {
    expect(safeEqual('abc', 'abc')).toBe(true);
    expect(safeEqual('', '')).toBe(true);
    expect(safeEqual(Buffer.from('abc'), 'abc')).toBe(true);
    expect(safeEqual('abc', 'abd')).toBe(false);
    expect(safeEqual('abc', 'ABC')).toBe(false);
  });

  it('handles different lengths without throwing (unlike timingSafeEqual)', () => {
    expect(safeEqual('abc', 'abcd')).toBe(false);
    expect(safeEqual('abcd', 'abc')).toBe(false);
    expect(safeEqual('', 'a')).toBe(false);
    expect(safeEqual('a'.repeat(10_000), 'a'.repeat(10_001))).toBe(false);
  });

  it('compares bytes, not characters', () => {
    expect(safeEqual('é', Buffer.from('é', 'utf8'))).toBe(true);
    expect(safeEqual('é', Buffer.from('é', 'latin1'))).toBe(false);
  });

  it('agrees with plain equality on arbitrary inputs', () => {
    fc.assert(
      fc.property(fc.string(), fc.string(), (a, b) => {
        expect(safeEqual(a, b)).toBe(a === b);
        expect(safeEqual(a, a)).toBe(true);
      }),
      { seed: 20240528, numRuns: 300 },
    );
  });
});

describe('safeEqualAny', () => {
  it('finds a match in any position', () => {
    expect(safeEqualAny('b', ['a', 'b', 'c'])).toBe(true);
    expect(safeEqualAny('a', ['a', 'b', 'c'])).toBe(true);
    expect(safeEqualAny('c', ['a', 'b', 'c'])).toBe(true);
    expect(safeEqualAny(Buffer.from('c'), [Buffer.from('c')])).toBe(true);
  });

  it('is false for no match and for an empty list', () => {
    expect(safeEqualAny('d', ['a', 'b', 'c'])).toBe(false);
    expect(safeEqualAny('a', [])).toBe(false);
    expect(safeEqualAny('', [])).toBe(false);
  });
});

describe('decodeWhsecSecret', () => {
  const key = Buffer.from('0123456789abcdef0123456789abcdef', 'utf8');
  const b64 = key.toString('base64');

  it('decodes the base64 part of a whsec_ secret', () => {
    expect(decodeWhsecSecret(`whsec_${b64}`)).toEqual(key);
  });

  it('accepts a bare base64 secret and surrounding whitespace', () => {
    expect(decodeWhsecSecret(b64)).toEqual(key);
    expect(decodeWhsecSecret(`  whsec_${b64}\n`)).toEqual(key);
  });

  it('decodes unpadded base64 the way the Svix libraries do', () => {
    expect(decodeWhsecSecret('whsec_AQID')).toEqual(Buffer.from([1, 2, 3]));
    expect(decodeWhsecSecret('whsec_AQI=')).toEqual(Buffer.from([1, 2]));
    expect(decodeWhsecSecret('whsec_AQ==')).toEqual(Buffer.from([1]));
  });

  it('refuses empty, non-base64 and over-padded secrets', () => {
    expect(decodeWhsecSecret('')).toBeUndefined();
    expect(decodeWhsecSecret('   ')).toBeUndefined();
    expect(decodeWhsecSecret('whsec_')).toBeUndefined();
    expect(decodeWhsecSecret('whsec_not base64')).toBeUndefined();
    expect(decodeWhsecSecret('whsec_abc-def_ghi')).toBeUndefined(); // URL-safe alphabet is not Svix's
    expect(decodeWhsecSecret('whsec_AQ===')).toBeUndefined();
    expect(decodeWhsecSecret('whsec_=')).toBeUndefined();
    expect(decodeWhsecSecret('whsec_AQ==AQ')).toBeUndefined();
  });

  it('only strips a leading lower-case whsec_ prefix', () => {
    // "WHSEC_..." is not a prefix: the underscore makes it invalid base64.
    expect(decodeWhsecSecret(`WHSEC_${b64}`)).toBeUndefined();
    expect(decodeWhsecSecret(`whsec_whsec_${b64}`)).toBeUndefined();
  });
});

describe('parseTimestampedHeader', () => {
  it('reads a Stripe header with several v1 signatures and ignores other schemes', () => {
    expect(parseTimestampedHeader('t=1716883260,v1=aa11,v1=bb22,v0=cc33')).toEqual({ t: '1716883260', v1: ['aa11', 'bb22'] });
  });

  it('reads a WorkOS header with spaces after the comma', () => {
    expect(parseTimestampedHeader('t=1716883260000, v1=abcdef')).toEqual({ t: '1716883260000', v1: ['abcdef'] });
  });

  it('returns no timestamp and no signatures for a missing or empty header', () => {
    expect(parseTimestampedHeader(undefined)).toEqual({ v1: [] });
    expect(parseTimestampedHeader('')).toEqual({ v1: [] });
    expect(parseTimestampedHeader(',,,')).toEqual({ v1: [] });
  });

  it('keeps the first timestamp when t appears twice', () => {
    expect(parseTimestampedHeader('t=1,t=2,v1=ab')).toEqual({ t: '1', v1: ['ab'] });
  });

  it('skips parts without a key, without "=", with an empty or oversized v1', () => {
    expect(parseTimestampedHeader('=x,v1,t=5,v1=,v1= ,v1=ok')).toEqual({ t: '5', v1: ['ok'] });
    expect(parseTimestampedHeader(`t=5,v1=${'a'.repeat(201)},v1=${'b'.repeat(200)}`)).toEqual({ t: '5', v1: ['b'.repeat(200)] });
  });

  it('keeps "=" inside values (base64 padding) and is case-sensitive about keys', () => {
    expect(parseTimestampedHeader('t=5,v1=abc==')).toEqual({ t: '5', v1: ['abc=='] });
    expect(parseTimestampedHeader('T=5,V1=abc')).toEqual({ v1: [] });
  });

  it('never throws on arbitrary input', () => {
    fc.assert(
      fc.property(fc.string(), (s) => {
        const r = parseTimestampedHeader(s);
        expect(Array.isArray(r.v1)).toBe(true);
      }),
      { seed: 7, numRuns: 300 },
    );
  });
});

describe('verifySvixStyle', () => {
  const SECRET = `whsec_${Buffer.alloc(24, 7).toString('base64')}`;
  const NOW = new Date('2024-05-28T08:00:30.000Z');
  const NOW_S = Math.floor(NOW.getTime() / 1000);
  const BODY = Buffer.from('{"type":"user.created","data":{"id":"user_1"}}', 'utf8');

  function sign(secret: string, id: string, ts: string, body: Buffer): string {
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    return createHmac('sha256', key).update(`${id}.${ts}.`).update(body).digest('base64');
  }

  function input(over: Partial<SvixStyleInput> = {}): SvixStyleInput {
    const id = over.id ?? 'msg_1';
    const timestamp = over.timestamp ?? String(NOW_S);
    return {
      id,
      timestamp,
      signatureHeader: `v1,${sign(SECRET, id ?? '', timestamp ?? '', over.rawBody ?? BODY)}`,
      rawBody: BODY,
      secrets: [SECRET],
      now: NOW,
      toleranceSeconds: 300,
      ...over,
    };
  }

  it('accepts a correct signature', () => {
    expect(verifySvixStyle(input())).toEqual({ ok: true });
  });

  it('refuses missing headers', () => {
    for (const key of ['id', 'timestamp', 'signatureHeader'] as const) {
      expect(verifySvixStyle({ ...input(), [key]: undefined })).toEqual({ ok: false, message: 'missing signature headers' });
      expect(verifySvixStyle({ ...input(), [key]: '' })).toEqual({ ok: false, message: 'missing signature headers' });
    }
  });

  it('refuses timestamps that are not plain epoch seconds', () => {
    for (const ts of ['1e9', '-5', ' 1716883230', '1716883230.5', '0x10', '1716883230000000', 'abc']) {
      expect(verifySvixStyle(input({ timestamp: ts })).ok, ts).toBe(false);
    }
  });

  it('applies the tolerance on both sides, inclusive', () => {
    for (const [delta, ok] of [
      [-300, true],
      [300, true],
      [-301, false],
      [301, false],
    ] as const) {
      const r = verifySvixStyle(input({ timestamp: String(NOW_S + delta) }));
      expect(r.ok, String(delta)).toBe(ok);
      if (!ok) expect(r).toEqual({ ok: false, message: 'signature timestamp outside the tolerance' });
    }
  });

  it('ignores entries other than v1 and oversized candidates', () => {
    const good = sign(SECRET, 'msg_1', String(NOW_S), BODY);
    expect(verifySvixStyle(input({ signatureHeader: `v2,${good}` }))).toEqual({ ok: false, message: 'no v1 signature' });
    expect(verifySvixStyle(input({ signatureHeader: `v1a,${good} v1,` }))).toEqual({ ok: false, message: 'no v1 signature' });
    expect(verifySvixStyle(input({ signatureHeader: `v1,${'A'.repeat(201)} v2,x v1,${good}` }))).toEqual({ ok: true });
  });

  it('reports when no configured secret is usable', () => {
    expect(verifySvixStyle(input({ secrets: [] }))).toEqual({ ok: false, message: 'no usable signing secret configured' });
    expect(verifySvixStyle(input({ secrets: ['not a secret!', 'whsec_'] }))).toEqual({
      ok: false,
      message: 'no usable signing secret configured',
    });
  });

  it('signs the exact body bytes, including invalid UTF-8', () => {
    const raw = Buffer.from([0x7b, 0xff, 0x7d]);
    const r = input({ rawBody: raw });
    expect(verifySvixStyle({ ...r, signatureHeader: `v1,${sign(SECRET, 'msg_1', String(NOW_S), raw)}` })).toEqual({ ok: true });
    expect(verifySvixStyle({ ...r, rawBody: Buffer.from([0x7b, 0xfe, 0x7d]) })).toEqual({ ok: false, message: 'signature mismatch' });
  });

  it('never throws and never accepts random headers, and never echoes a secret', () => {
    fc.assert(
      fc.property(fc.option(fc.string()), fc.option(fc.string()), fc.option(fc.string()), fc.uint8Array(), (id, ts, sig, body) => {
        const r = verifySvixStyle({
          id: id ?? undefined,
          timestamp: ts ?? undefined,
          signatureHeader: sig ?? undefined,
          rawBody: Buffer.from(body),
          secrets: [SECRET],
          now: NOW,
          toleranceSeconds: 300,
        });
        expect(r.ok).toBe(false);
        if (!r.ok) expect(r.message).not.toContain(SECRET.slice(6));
      }),
      { seed: 42, numRuns: 300 },
    );
  });
});
