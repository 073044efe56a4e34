import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import { FAILURE_REASONS } from '../../functions/core/dlq';
import { bulkBody } from '../../functions/core/moengage/bulk';
import { MAX_DETAIL_CHARS, classifyResponse } from '../../functions/core/moengage/classify';
import { MoEngageClient, type FetchLike } from '../../functions/core/moengage/client';
import { DATA_CENTERS, baseUrlForDc, resolveBaseUrl } from '../../functions/core/moengage/data-center';
import { failureReasonFor, type DeliveryOutcome, type FailedOutcome } from '../../functions/core/moengage/delivery-outcome';
import { parseRateLimitHeaders, parseRetryAfter } from '../../functions/core/moengage/rate-limit-headers';
import type { CustomerPayload } from '../../functions/core/moengage/types';

// ---------------------------------------------------------------------------------------------
// Sample bodies, verbatim from the MoEngage User API document (shared/seeds/moengage-user-api.txt)
// ---------------------------------------------------------------------------------------------

const SAMPLES = {
  success: `{
"status": "success",
"message": "Your request has been accepted and will be processed soon."
}`,
  customerIdMissing: `{
"status": "fail",
"error": {
"attribute": "customer_id",
"message": "customer_id is not found in the payload",
"type": "MissingAttributeError",
"request_id": "ZbPXtKFL"
}
}`,
  customerIdEmpty: `{
"status": "fail",
"error": {
"attribute": "customer_id",
"message": "customer_id can not be empty Unicode String",
"type": "MissingAttributeError",
"request_id": "VgjtlxTu"
}
}`,
  arrayField: `{
"status": "fail",
"error": {
"attribute": "addValueToArrayField",
"message": "Cannot add and remove 'first_name' at the same time",
"type": "ArrayFieldError",
"request_id": "WPDAbugh"
}
}`,
  authorization: `{
"status": "fail",
"error": {
"message": "App Secret key mismatch. Please login to the dashboard to verify key",
"type": "Authentication required",
"request_id": "PVUDFisO"
}
}`,
  missingAuthHeader: `{
"status": "fail",
"error": {
"message": "Authentication Header Required",
"type": "Authentication required",
"request_id": "PiSPjGQQ"
}
}`,
  blocked: `{
"status": "fail",
"error": {
"message": "Your account is suspended. Please contact MoEngage team.",
"type": "BlockedClient",
"request_id": "ofHUEaEQ"
}
}`,
  suspended: `{
"status": "fail",
"error": {
"message": "Your account is suspended. Please contact MoEngage team.",
"type": "Account Suspended",
"request_id": "gqJvCNYu"
}
}`,
  temporarilySuspended: `{
"status": "fail",
"error": {
"message": "Your account is temporarily suspended. Please contact MoEngage team.",
"type": "Account Temporarily Suspended",
"request_id": "ssSJjoyD"
}
}`,
  tooLarge: `{
"status": "fail",
"error": {
"message": "Payload can not exceed 128KB",
"type": "Payload too large",
"request_id": "VFzDwhwt"
}
}`,
  mediaType: `{
"status": "fail",
"error": {
"message": "Content type is not supported",
"type": "Unsupported media type",
"request_id": "SgBQfKJh"
}
}`,
  rateLimit: `{
"status": "fail",
"error": {
"message": "Rate limits for customers exceeded. Please Try After Some Time",
"type": "Rate Limits Exceeded",
"request_id": "onqucLYL"
}
}`,
  serverError: `{
"status": "fail",
"error": {
"message": "An unexpected error was encountered while processing this request. Please contact MoEngage Team",
"type": "Server Error",
"request_id": "KovrwJiF"
}
}`,
} as const;

const NOW = Date.parse('2025-06-01T12:00:00Z');
const h = (init: Record<string, string> = {}) => new Headers(init);

/** Strips the fields that do not depend on the body (for compact expectations). */
function shape(o: DeliveryOutcome) {
  const { latencyMs: _l, rateLimit: _r, ...rest } = o;
  return rest;
}

describe('data centers and base URL', () => {
  it('maps every documented data center', () => {
    expect(DATA_CENTERS).toEqual(['01', '02', '03', '04', '05', '06', '101']);
    for (const dc of DATA_CENTERS) expect(baseUrlForDc(dc)).toBe(`https://api-${dc}.moengage.com`);
    expect(baseUrlForDc(' 02 ')).toBe('https://api-02.moengage.com');
  });

  it('refuses other values with a one-line message listing the valid ones', () => {
    for (const bad of ['1', '6', '07', '00', '100', '', 'eu', '01\nX-Injected: 1', 'https://api-01.moengage.com']) {
      let error: unknown;
      try {
        baseUrlForDc(bad);
      } catch (e) {
        error = e;
      }
      expect(error, bad).toBeInstanceOf(ConfigError);
      const message = (error as Error).message;
      expect(message).toContain('01, 02, 03, 04, 05, 06, 101');
      expect(message).not.toContain('\n');
    }
    expect(() => baseUrlForDc('1')).toThrow(/did you mean "01"/);
    expect(() => baseUrlForDc('101x')).not.toThrow(/did you mean/);
  });

  it('prefers MOENGAGE_BASE_URL, trimming trailing slashes and keeping a path', () => {
    expect(resolveBaseUrl({ dc: '01', baseUrl: 'http://127.0.0.1:4010/' })).toBe('http://127.0.0.1:4010');
    expect(resolveBaseUrl({ baseUrl: 'https://proxy.example.com/moengage//' })).toBe('https://proxy.example.com/moengage');
    expect(resolveBaseUrl({ dc: '03', baseUrl: '  ' })).toBe('https://api-03.moengage.com');
    expect(resolveBaseUrl({ dc: '101' })).toBe('https://api-101.moengage.com');
  });

  it('refuses base URLs that are not plain http(s) URLs, without echoing credentials', () => {
    for (const bad of ['api-01.moengage.com', 'ftp://x.example.com', 'file:///etc/passwd', 'http://x/?a=1', 'http://x/#f']) {
      expect(() => resolveBaseUrl({ baseUrl: bad }), bad).toThrow(ConfigError);
    }
    let message = '';
    try {
      resolveBaseUrl({ baseUrl: 'https://user:hunter2-secret@proxy.example.com' });
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/credentials/);
    expect(message).not.toContain('hunter2-secret');
  });

  it('needs a data center or a base URL', () => {
    expect(() => resolveBaseUrl({})).toThrow(ConfigError);
    expect(() => resolveBaseUrl({ dc: '' })).toThrow(/MOENGAGE_DC .*MOENGAGE_BASE_URL/);
    expect(() => resolveBaseUrl({ dc: '7' })).toThrow(ConfigError);
  });
});

describe('classifyResponse: the documented answers', () => {
  it('200 success -> delivered, confirmed', () => {
    const o = classifyResponse(200, h({ 'x-request-id': 'req-1' }), SAMPLES.success, 42, NOW);
    expect(o).toEqual({ kind: 'delivered', status: 200, requestId: 'req-1', confirmed: true, latencyMs: 42 });
  });

  it.each([
    ['customerIdMissing', { attribute: 'customer_id', message: 'customer_id is not found in the payload', type: 'MissingAttributeError', request_id: 'ZbPXtKFL' }],
    ['customerIdEmpty', { attribute: 'customer_id', message: 'customer_id can not be empty Unicode String', type: 'MissingAttributeError', request_id: 'VgjtlxTu' }],
    ['arrayField', { attribute: 'addValueToArrayField', message: "Cannot add and remove 'first_name' at the same time", type: 'ArrayFieldError', request_id: 'WPDAbugh' }],
  ] as const)('400 %s -> permanent moengage_rejected with the full detail', (name, detail) => {
    const o = classifyResponse(400, h(), SAMPLES[name], 5, NOW);
    expect(o).toEqual({ kind: 'permanent', status: 400, reason: 'moengage_rejected', detail, latencyMs: 5 });
  });

  it.each([
    ['authorization', 'PVUDFisO'],
    ['missingAuthHeader', 'PiSPjGQQ'],
  ] as const)('401 %s -> auth auth_failed', (name, requestId) => {
    const o = classifyResponse(401, h(), SAMPLES[name], 5, NOW);
    expect(shape(o)).toMatchObject({ kind: 'auth', status: 401, reason: 'auth_failed', detail: { type: 'Authentication required', request_id: requestId } });
  });

  it.each([
    ['blocked', 'BlockedClient'],
    ['suspended', 'Account Suspended'],
    ['temporarilySuspended', 'Account Temporarily Suspended'],
  ] as const)('403 %s -> auth account_blocked', (name, type) => {
    const o = classifyResponse(403, h(), SAMPLES[name], 5, NOW);
    expect(shape(o)).toMatchObject({ kind: 'auth', status: 403, reason: 'account_blocked', detail: { type } });
  });

  it('413 -> permanent payload_too_large; 415 -> permanent unsupported_media_type', () => {
    expect(shape(classifyResponse(413, h(), SAMPLES.tooLarge, 1, NOW))).toEqual({
      kind: 'permanent',
      status: 413,
      reason: 'payload_too_large',
      detail: { message: 'Payload can not exceed 128KB', type: 'Payload too large', request_id: 'VFzDwhwt' },
    });
    expect(shape(classifyResponse(415, h(), SAMPLES.mediaType, 1, NOW))).toMatchObject({
      kind: 'permanent',
      status: 415,
      reason: 'unsupported_media_type',
      detail: { type: 'Unsupported media type', request_id: 'SgBQfKJh' },
    });
  });

  it('429 -> rate_limited with Retry-After and the rate-limit headers', () => {
    const o = classifyResponse(
      429,
      h({ 'retry-after': '7', 'x-ratelimit-limit': '10000', 'x-ratelimit-remaining': '0', 'x-ratelimit-reset': '42' }),
      SAMPLES.rateLimit,
      9,
      NOW,
    );
    expect(o).toEqual({
      kind: 'rate_limited',
      status: 429,
      retryAfterMs: 7000,
      detail: { message: 'Rate limits for customers exceeded. Please Try After Some Time', type: 'Rate Limits Exceeded', request_id: 'onqucLYL' },
      rateLimit: { limit: 10000, remaining: 0, resetMs: 42_000 },
      latencyMs: 9,
    });
  });

  it('500 -> transient server_error', () => {
    const o = classifyResponse(500, h(), SAMPLES.serverError, 3, NOW);
    expect(shape(o)).toEqual({
      kind: 'transient',
      status: 500,
      reason: 'server_error',
      detail: {
        message: 'An unexpected error was encountered while processing this request. Please contact MoEngage Team',
        type: 'Server Error',
        request_id: 'KovrwJiF',
      },
    });
  });
});

describe('classifyResponse: 200 whose body says fail', () => {
  it.each([
    ['rateLimit', { kind: 'rate_limited' }],
    ['authorization', { kind: 'auth', reason: 'auth_failed' }],
    ['missingAuthHeader', { kind: 'auth', reason: 'auth_failed' }],
    ['blocked', { kind: 'auth', reason: 'account_blocked' }],
    ['suspended', { kind: 'auth', reason: 'account_blocked' }],
    ['temporarilySuspended', { kind: 'auth', reason: 'account_blocked' }],
    ['serverError', { kind: 'transient', reason: 'server_error' }],
    ['tooLarge', { kind: 'permanent', reason: 'payload_too_large' }],
    ['mediaType', { kind: 'permanent', reason: 'unsupported_media_type' }],
    ['customerIdMissing', { kind: 'permanent', reason: 'moengage_rejected' }],
    ['arrayField', { kind: 'permanent', reason: 'moengage_rejected' }],
  ] as const)('200 + %s', (name, expected) => {
    const o = classifyResponse(200, h(), SAMPLES[name], 1, NOW);
    expect(o).toMatchObject({ ...expected, status: 200 });
    expect(o.kind).not.toBe('delivered');
  });

  it('a fail body without an error object is still rejected', () => {
    expect(shape(classifyResponse(200, h(), '{"status":"fail","message":"bad things"}', 1, NOW))).toEqual({
      kind: 'permanent',
      status: 200,
      reason: 'moengage_rejected',
      detail: { message: 'bad things' },
    });
  });
});

describe('classifyResponse: undocumented answers', () => {
  it('2xx without a JSON success body counts as delivered, unconfirmed', () => {
    for (const body of ['', 'OK', '<html>ok</html>', '{"message":"accepted"}', '[1,2]', '{"status":"success"', 'null']) {
      const o = classifyResponse(200, h(), body, 1, NOW);
      expect(o, body).toMatchObject({ kind: 'delivered', status: 200, confirmed: false });
    }
    expect(classifyResponse(202, h(), '', 1, NOW)).toMatchObject({ kind: 'delivered', status: 202, confirmed: false });
    expect(classifyResponse(200, h(), '{"status":"SUCCESS"}', 1, NOW)).toMatchObject({ kind: 'delivered', confirmed: true });
  });

  it('401/403/409 refine the reason from the body type', () => {
    expect(classifyResponse(409, h(), '', 1, NOW)).toMatchObject({ kind: 'auth', status: 409, reason: 'auth_failed' });
    expect(classifyResponse(401, h(), SAMPLES.blocked, 1, NOW)).toMatchObject({ kind: 'auth', reason: 'account_blocked' });
    expect(classifyResponse(403, h(), SAMPLES.authorization, 1, NOW)).toMatchObject({ kind: 'auth', status: 403, reason: 'auth_failed' });
    expect(classifyResponse(403, h(), '', 1, NOW)).toMatchObject({ kind: 'auth', status: 403, reason: 'account_blocked' });
  });

  it('other 4xx are permanent, 408 and 5xx transient, 1xx/3xx unexpected', () => {
    expect(classifyResponse(404, h(), '', 1, NOW)).toMatchObject({ kind: 'permanent', status: 404, reason: 'moengage_rejected' });
    expect(classifyResponse(422, h(), '{}', 1, NOW)).toMatchObject({ kind: 'permanent', status: 422, reason: 'moengage_rejected' });
    expect(classifyResponse(408, h(), '', 1, NOW)).toMatchObject({ kind: 'transient', status: 408, reason: 'timeout' });
    expect(classifyResponse(503, h({ 'retry-after': '3' }), '', 1, NOW)).toMatchObject({
      kind: 'transient',
      status: 503,
      reason: 'server_error',
      retryAfterMs: 3000,
    });
    expect(classifyResponse(302, h(), '', 1, NOW)).toMatchObject({ kind: 'transient', status: 302, reason: 'unexpected_response' });
    expect(classifyResponse(0, h(), '', 1, NOW)).toMatchObject({ kind: 'transient', reason: 'unexpected_response' });
    expect(classifyResponse(Number.NaN, h(), '', 1, NOW)).toMatchObject({ kind: 'transient', reason: 'unexpected_response' });
  });

  it('a non-JSON error body becomes a short, collapsed message', () => {
    const html = `<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body>${'x'.repeat(2000)}</body></html>`;
    const o = classifyResponse(502, h({ 'x-request-id': 'lb-77' }), html, 1, NOW);
    expect(o).toMatchObject({ kind: 'transient', status: 502, reason: 'server_error' });
    if (o.kind !== 'transient') throw new Error('unreachable');
    expect(o.detail.message?.startsWith('<html> <head><title>502 Bad Gateway</title></head> <body>xxx')).toBe(true);
    expect(o.detail.message?.length).toBeLessThanOrEqual(MAX_DETAIL_CHARS);
    expect(o.detail.request_id).toBe('lb-77');
    expect(classifyResponse(500, h(), '', 1, NOW)).toMatchObject({ detail: { message: 'HTTP 500 with no readable body' } });
  });

  it('truncates long detail fields to 512 characters', () => {
    const body = JSON.stringify({ status: 'fail', error: { type: 'T'.repeat(5000), message: '\u{1F600}'.repeat(600), request_id: 'r' } });
    const o = classifyResponse(400, h(), body, 1, NOW);
    if (o.kind !== 'permanent') throw new Error('unreachable');
    expect(o.detail.type?.length).toBeLessThanOrEqual(512);
    expect(o.detail.message?.length).toBeLessThanOrEqual(512);
    expect(o.detail.message).not.toMatch(/[\ud800-\udbff]\.\.\.$/); // no half surrogate before the ellipsis
    expect(o.detail.request_id).toBe('r');
  });

  it('never throws and keeps every detail string bounded, whatever the answer', () => {
    const body = fc.oneof(
      fc.string({ unit: 'binary', maxLength: 2000 }),
      fc.json({ maxDepth: 3 }),
      fc.record({ status: fc.constantFrom('fail', 'success', 'x'), error: fc.anything() }).map((v) => JSON.stringify(v) ?? ''),
    );
    const status = fc.oneof(fc.integer({ min: -5, max: 1000 }), fc.constantFrom(200, 400, 401, 403, 409, 413, 415, 429, 500, 503));
    const headerValue = fc.string({ maxLength: 40 }).map((s) => s.replace(/[^\x20-\x7e]/g, ''));
    fc.assert(
      fc.property(status, body, headerValue, headerValue, (s, b, retryAfter, reset) => {
        const o = classifyResponse(s, h({ 'retry-after': retryAfter, 'x-ratelimit-reset': reset }), b, 1, NOW);
        expect(['delivered', 'permanent', 'auth', 'rate_limited', 'transient']).toContain(o.kind);
        if (o.kind !== 'delivered') {
          for (const v of Object.values(o.detail)) {
            expect(typeof v).toBe('string');
            expect((v as string).length).toBeLessThanOrEqual(MAX_DETAIL_CHARS);
          }
        }
        if (o.kind === 'rate_limited' && o.retryAfterMs !== undefined) expect(o.retryAfterMs).toBeGreaterThanOrEqual(0);
      }),
      { numRuns: 400 },
    );
  });
});

describe('Retry-After and rate-limit headers', () => {
  it('reads delay-seconds and HTTP dates', () => {
    expect(parseRetryAfter('120', NOW)).toBe(120_000);
    expect(parseRetryAfter(' 1.5 ', NOW)).toBe(1_500);
    expect(parseRetryAfter('0', NOW)).toBe(0);
    expect(parseRetryAfter(new Date(NOW + 30_000).toUTCString(), NOW)).toBe(30_000);
    expect(parseRetryAfter('Sun, 01 Jun 2025 11:00:00 GMT', NOW)).toBe(0); // in the past
    for (const bad of [null, '', '-5', 'soon', '1e3', '12abc']) expect(parseRetryAfter(bad, NOW), String(bad)).toBeUndefined();
  });

  it('429 without Retry-After falls back to x-ratelimit-reset', () => {
    const o = classifyResponse(429, h({ 'x-ratelimit-reset': '15' }), SAMPLES.rateLimit, 1, NOW);
    expect(o).toMatchObject({ kind: 'rate_limited', retryAfterMs: 15_000 });
    const date = classifyResponse(429, h({ 'retry-after': new Date(NOW + 5_000).toUTCString(), 'x-ratelimit-reset': '15' }), '', 1, NOW);
    expect(date).toMatchObject({ kind: 'rate_limited', retryAfterMs: 5_000 });
    const none = classifyResponse(429, h(), '', 1, NOW);
    expect(none).toMatchObject({ kind: 'rate_limited', status: 429, detail: { message: 'rate limit exceeded' } });
    expect(none).not.toHaveProperty('retryAfterMs');
  });

  it('reads x-ratelimit-reset as seconds, epoch seconds or epoch milliseconds', () => {
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-reset': '30' }), NOW)).toEqual({ resetMs: 30_000 });
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-reset': String(NOW / 1000 + 45) }), NOW)).toEqual({ resetMs: 45_000 });
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-reset': String(NOW + 2_500) }), NOW)).toEqual({ resetMs: 2_500 });
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-reset': String(NOW / 1000 - 10) }), NOW)).toEqual({ resetMs: 0 });
  });

  it('parses limit / remaining (also the IETF names) and is undefined without any', () => {
    expect(parseRateLimitHeaders(h(), NOW)).toBeUndefined();
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-limit': 'abc' }), NOW)).toBeUndefined();
    expect(parseRateLimitHeaders(h({ 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '12' }), NOW)).toEqual({ limit: 5000, remaining: 12 });
    expect(parseRateLimitHeaders(h({ 'ratelimit-limit': '100, 100;w=60', 'ratelimit-remaining': '3', 'ratelimit-reset': '9' }), NOW)).toEqual({
      limit: 100,
      remaining: 3,
      resetMs: 9_000,
    });
  });
});

describe('failureReasonFor', () => {
  it('maps every failed outcome to a DLQ reason', () => {
    const d = {};
    const cases: [FailedOutcome, string][] = [
      [{ kind: 'permanent', status: 400, reason: 'moengage_rejected', detail: d, latencyMs: 0 }, 'moengage_rejected'],
      [{ kind: 'permanent', status: 413, reason: 'payload_too_large', detail: d, latencyMs: 0 }, 'payload_too_large'],
      [{ kind: 'permanent', status: 415, reason: 'unsupported_media_type', detail: d, latencyMs: 0 }, 'unsupported_media_type'],
      [{ kind: 'auth', status: 401, reason: 'auth_failed', detail: d, latencyMs: 0 }, 'auth_failed'],
      [{ kind: 'auth', status: 403, reason: 'account_blocked', detail: d, latencyMs: 0 }, 'account_blocked'],
      [{ kind: 'rate_limited', status: 429, detail: d, latencyMs: 0 }, 'rate_limited'],
      [{ kind: 'transient', reason: 'timeout', detail: d, latencyMs: 0 }, 'retries_exhausted'],
      [{ kind: 'transient', status: 500, reason: 'server_error', detail: d, latencyMs: 0 }, 'retries_exhausted'],
    ];
    for (const [outcome, reason] of cases) {
      expect(failureReasonFor(outcome)).toBe(reason);
      expect(FAILURE_REASONS).toContain(reason);
    }
  });
});

// ---------------------------------------------------------------------------------------------
// The client, with an injected fetch
// ---------------------------------------------------------------------------------------------

interface Call {
  url: string;
  init: Parameters<FetchLike>[1];
}

function fakeFetch(answer: (call: Call) => ReturnType<FetchLike>): { fetch: FetchLike; calls: Call[] } {
  const calls: Call[] = [];
  return {
    calls,
    fetch: (url, init) => {
      const call = { url, init };
      calls.push(call);
      return answer(call);
    },
  };
}

const reply = (status: number, body = '', headers: Record<string, string> = {}) =>
  Promise.resolve({ status, headers: new Headers(headers), text: () => Promise.resolve(body) });

const CREDS = { workspaceId: 'ws_ABC123', apiKey: 's3cr3t-K3y' };
/** base64("ws_ABC123:s3cr3t-K3y"), computed independently. */
const BASIC = 'Basic d3NfQUJDMTIzOnMzY3IzdC1LM3k=';
const PAYLOAD: CustomerPayload = { type: 'customer', customer_id: 'user_1', attributes: { u_fn: 'Zoë', points: 20 } };

describe('MoEngageClient requests', () => {
  it('the global fetch satisfies FetchLike', () => {
    const f: FetchLike = fetch;
    expect(typeof f).toBe('function');
  });

  it('Track User: exact URL, headers and body', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    const o = await client.trackUser(CREDS, PAYLOAD);
    expect(o).toMatchObject({ kind: 'delivered', status: 200, confirmed: true });
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe('https://api-01.moengage.com/v1/customer/ws_ABC123?app_id=ws_ABC123');
    expect(call.init.method).toBe('POST');
    expect(call.init.headers).toEqual({ Authorization: BASIC, 'Content-Type': 'application/json' });
    expect(call.init.body).toBe('{"type":"customer","customer_id":"user_1","attributes":{"u_fn":"Zoë","points":20}}');
    expect(call.init.signal).toBeInstanceOf(AbortSignal);
    expect(call.init.signal.aborted).toBe(false);
  });

  it('URL-encodes the workspace ID and sends only the Authorization and Content-Type headers', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'http://127.0.0.1:4010/', fetch });
    await client.trackUser({ workspaceId: 'a b/ü?', apiKey: 'k' }, PAYLOAD);
    expect(calls[0]!.url).toBe('http://127.0.0.1:4010/v1/customer/a%20b%2F%C3%BC%3F?app_id=a%20b%2F%C3%BC%3F');
    expect(calls[0]!.init.headers).toEqual({
      Authorization: `Basic ${Buffer.from('a b/ü?:k').toString('base64')}`,
      'Content-Type': 'application/json',
    });
  });

  it('Bulk Import: exact URL and transition body', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'https://api-101.moengage.com', fetch });
    const second: CustomerPayload = { type: 'customer', customer_id: 'user_2', update_existing_only: true };
    const o = await client.bulkImport(CREDS, [PAYLOAD, second]);
    expect(o.kind).toBe('delivered');
    expect(calls[0]!.url).toBe('https://api-101.moengage.com/v1/transition/ws_ABC123?app_id=ws_ABC123');
    expect(calls[0]!.init.headers).toEqual({ Authorization: BASIC, 'Content-Type': 'application/json' });
    expect(calls[0]!.init.body).toBe(
      '{"type":"transition","elements":[{"type":"customer","customer_id":"user_1","attributes":{"u_fn":"Zoë","points":20}},{"type":"customer","customer_id":"user_2","update_existing_only":true}]}',
    );
    expect(calls[0]!.init.body).toBe(bulkBody([PAYLOAD, second]));
    await expect(client.bulkImport(CREDS, [])).rejects.toThrow(RangeError);
  });

  it('measures latency with the injected clock', async () => {
    let t = 1_000_000;
    const { fetch } = fakeFetch(() => {
      t += 123;
      return reply(200, SAMPLES.success);
    });
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, now: () => t });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'delivered', latencyMs: 123 });
  });

  it('classifies answers (429 Retry-After as HTTP date uses the injected clock)', async () => {
    const { fetch } = fakeFetch(() => reply(429, SAMPLES.rateLimit, { 'Retry-After': new Date(NOW + 20_000).toUTCString() }));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, now: () => NOW });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 20_000 });
  });

  it('does not call MoEngage with empty credentials', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    const o = await client.trackUser({ workspaceId: 'ws', apiKey: '  ' }, PAYLOAD);
    expect(o).toMatchObject({ kind: 'auth', reason: 'auth_failed', detail: { type: 'MissingCredentials' } });
    expect(o).not.toHaveProperty('status');
    expect(calls).toHaveLength(0);
  });

  it('refuses a nonsensical timeout', () => {
    const { fetch } = fakeFetch(() => reply(200));
    expect(() => new MoEngageClient({ baseUrl: 'http://x', fetch, timeoutMs: 0 })).toThrow(ConfigError);
  });
});

describe('MoEngageClient.deleteUser (Delete User)', () => {
  it('exact URL, headers and body', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'https://api-02.moengage.com', fetch });
    const o = await client.deleteUser(CREDS, 'user_1');
    expect(o).toMatchObject({ kind: 'delivered', status: 200, confirmed: true });
    expect(calls).toHaveLength(1);
    const call = calls[0]!;
    expect(call.url).toBe('https://api-02.moengage.com/v1/customer/delete?app_id=ws_ABC123');
    expect(call.init.method).toBe('POST');
    expect(call.init.headers).toEqual({ Authorization: BASIC, 'Content-Type': 'application/json' });
    expect(call.init.body).toBe('{"identity_type":"customer_id","identity_value":"user_1"}');
    expect(call.init.signal).toBeInstanceOf(AbortSignal);
  });

  it('URL-encodes the workspace ID in app_id and JSON-escapes the customer_id', async () => {
    const { fetch, calls } = fakeFetch(() => reply(200, SAMPLES.success));
    const client = new MoEngageClient({ baseUrl: 'http://127.0.0.1:4010/', fetch });
    await client.deleteUser({ workspaceId: 'a b/ü?', apiKey: 'k' }, 'ada"lovelace\\1');
    expect(calls[0]!.url).toBe('http://127.0.0.1:4010/v1/customer/delete?app_id=a%20b%2F%C3%BC%3F');
    expect(JSON.parse(calls[0]!.init.body)).toEqual({ identity_type: 'customer_id', identity_value: 'ada"lovelace\\1' });
  });

  it('classifies the answers exactly like Track User', async () => {
    const answers: [number, string, Record<string, string>][] = [
      [200, SAMPLES.success, {}],
      [200, '', {}],
      [400, SAMPLES.customerIdMissing, {}],
      [401, SAMPLES.authorization, {}],
      [403, SAMPLES.blocked, {}],
      [413, SAMPLES.tooLarge, {}],
      [415, SAMPLES.mediaType, {}],
      [429, SAMPLES.rateLimit, { 'Retry-After': '7', 'x-ratelimit-limit': '5000', 'x-ratelimit-remaining': '0' }],
      [500, SAMPLES.serverError, {}],
      [200, SAMPLES.rateLimit, {}],
    ];
    for (const [status, body, headers] of answers) {
      const { fetch } = fakeFetch(() => reply(status, body, headers));
      const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, now: () => NOW });
      const deleted = await client.deleteUser(CREDS, 'user_1');
      const tracked = await client.trackUser(CREDS, PAYLOAD);
      expect(deleted, `${status} ${body.slice(0, 40)}`).toEqual(tracked);
    }
    const { fetch } = fakeFetch(() => reply(429, SAMPLES.rateLimit, { 'Retry-After': '7' }));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    expect(await client.deleteUser(CREDS, 'user_1')).toMatchObject({ kind: 'rate_limited', status: 429, retryAfterMs: 7000 });
  });

  it('honours the per-call timeout, without throwing', async () => {
    const { fetch } = fakeFetch(() => new Promise(() => undefined));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, timeoutMs: 5_000 });
    const o = await client.deleteUser(CREDS, 'user_1', { timeoutMs: 20 });
    expect(o).toMatchObject({ kind: 'transient', reason: 'timeout', detail: { message: 'no answer from MoEngage within 20 ms' } });
  });

  it('does not call MoEngage with empty credentials; sends an empty customer_id as it is; never leaks the key', async () => {
    const { fetch, calls } = fakeFetch(() => reply(401, `{"status":"fail","error":{"type":"Authentication required","message":"bad key s3cr3t-K3y"}}`));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    expect(await client.deleteUser({ workspaceId: 'ws', apiKey: '' }, 'user_1')).toMatchObject({ kind: 'auth', reason: 'auth_failed' });
    expect(calls).toHaveLength(0);
    // An empty customer_id is MoEngage's to refuse (classified like Track User's 400), never a throw.
    const empty = await client.deleteUser(CREDS, '');
    expect(calls).toHaveLength(1);
    expect(JSON.parse(calls[0]!.init.body)).toEqual({ identity_type: 'customer_id', identity_value: '' });
    expect(empty.kind).toBe('auth');
    const o = await client.deleteUser(CREDS, 'user_1');
    expect(JSON.stringify(o)).not.toContain('s3cr3t-K3y');
  });
});

describe('MoEngageClient transport failures', () => {
  it('times out through the AbortSignal: transient timeout, no throw', async () => {
    let seen: AbortSignal | undefined;
    const { fetch } = fakeFetch(
      ({ init }) =>
        new Promise((_, reject) => {
          seen = init.signal;
          init.signal.addEventListener('abort', () => reject(new DOMException('This operation was aborted', 'AbortError')));
        }),
    );
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, timeoutMs: 20 });
    const o = await client.trackUser(CREDS, PAYLOAD);
    expect(o).toMatchObject({ kind: 'transient', reason: 'timeout', detail: { type: 'Timeout', message: 'no answer from MoEngage within 20 ms' } });
    expect(o).not.toHaveProperty('status');
    expect(seen?.aborted).toBe(true);
  });

  it('times out even when fetch ignores its signal, and a per-call timeout can only shorten it', async () => {
    const { fetch } = fakeFetch(() => new Promise(() => undefined));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, timeoutMs: 10_000 });
    const started = Date.now();
    const o = await client.bulkImport(CREDS, [PAYLOAD], { timeoutMs: 15 });
    expect(o).toMatchObject({ kind: 'transient', reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(2_000);
  });

  it('a 200 whose body never arrives counts as delivered, unconfirmed', async () => {
    const { fetch } = fakeFetch(() => Promise.resolve({ status: 200, headers: new Headers(), text: () => new Promise<string>(() => undefined) }));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch, timeoutMs: 15 });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'delivered', status: 200, confirmed: false });
  });

  it('connection reset -> transient network', async () => {
    const reset = Object.assign(new Error('read ECONNRESET'), { code: 'ECONNRESET', syscall: 'read' });
    const { fetch } = fakeFetch(() => Promise.reject(new TypeError('fetch failed', { cause: reset })));
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    const o = await client.trackUser(CREDS, PAYLOAD);
    expect(o).toEqual({ kind: 'transient', reason: 'network', detail: { type: 'ECONNRESET', message: 'read ECONNRESET' }, latencyMs: expect.any(Number) });
  });

  it('DNS failure -> network; undici connect timeout -> timeout; a synchronous throw -> network', async () => {
    const dns = Object.assign(new Error('getaddrinfo ENOTFOUND api-01.moengage.com'), { code: 'ENOTFOUND' });
    const connect = Object.assign(new Error('Connect Timeout Error'), { code: 'UND_ERR_CONNECT_TIMEOUT' });
    const refused = new AggregateError([Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1'), { code: 'ECONNREFUSED' })]);
    const errors: unknown[] = [new TypeError('fetch failed', { cause: dns }), new TypeError('fetch failed', { cause: connect }), new TypeError('fetch failed', { cause: refused })];
    let i = 0;
    const fetch: FetchLike = () => {
      const err = errors[i++];
      if (err === undefined) throw new Error('boom'); // not even a promise
      return Promise.reject(err);
    };
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'network', detail: { type: 'ENOTFOUND' } });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'timeout', detail: { type: 'UND_ERR_CONNECT_TIMEOUT' } });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'network', detail: { type: 'ECONNREFUSED' } });
    expect(await client.trackUser(CREDS, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'network', detail: { type: 'Error', message: 'boom' } });
  });

  it('never lets the API key or the Authorization value into a detail', async () => {
    const token = BASIC.slice('Basic '.length);
    const answers = [
      () => reply(400, JSON.stringify({ status: 'fail', error: { type: 'Echo', message: `bad key ${CREDS.apiKey} / ${BASIC}` } })),
      () => Promise.reject(new TypeError('fetch failed', { cause: new Error(`proxy refused Authorization: Basic ${token}`) })),
      () => reply(502, `<p>ws_ABC123:s3cr3t-K3y</p>`),
    ];
    let i = 0;
    const fetch: FetchLike = () => answers[i++]!();
    const client = new MoEngageClient({ baseUrl: 'https://api-01.moengage.com', fetch });
    for (let n = 0; n < answers.length; n++) {
      const o = await client.trackUser(CREDS, PAYLOAD);
      expect(o.kind).not.toBe('delivered');
      const text = JSON.stringify(o);
      expect(text).not.toContain(CREDS.apiKey);
      expect(text).not.toContain(token);
      expect(text).toContain('[redacted]');
    }
  });
});

describe('MoEngageClient against a real HTTP server (global fetch)', () => {
  let server: Server;
  let base = '';
  const seen: { url?: string; auth?: string; type?: string; body: string }[] = [];

  beforeAll(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (body += c));
      req.on('end', () => {
        seen.push({ url: req.url, auth: req.headers.authorization, type: req.headers['content-type'], body });
        const id = (req.url ?? '').split('/')[3]?.split('?')[0];
        if (id === 'ok') {
          res.writeHead(200, { 'content-type': 'application/json', 'x-ratelimit-remaining': '99', 'x-ratelimit-limit': '100' });
          res.end(SAMPLES.success);
        } else if (id === 'slow') {
          // never answers: the client's timeout must end it
        } else if (id === 'reset') {
          req.socket.destroy();
        } else {
          res.writeHead(429, { 'content-type': 'application/json', 'retry-after': '2' });
          res.end(SAMPLES.rateLimit);
        }
      });
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  it('delivers, reads rate-limit headers, and sends exactly the documented request', async () => {
    const client = new MoEngageClient({ baseUrl: base, fetch });
    const o = await client.trackUser({ workspaceId: 'ok', apiKey: 'key' }, PAYLOAD);
    expect(o).toMatchObject({ kind: 'delivered', status: 200, confirmed: true, rateLimit: { limit: 100, remaining: 99 } });
    expect(seen.at(-1)).toEqual({
      url: '/v1/customer/ok?app_id=ok',
      auth: `Basic ${Buffer.from('ok:key').toString('base64')}`,
      type: 'application/json',
      body: JSON.stringify(PAYLOAD),
    });
  });

  it('429, timeout and reset all become outcomes', async () => {
    const client = new MoEngageClient({ baseUrl: base, fetch, timeoutMs: 50 });
    expect(await client.trackUser({ workspaceId: 'busy', apiKey: 'key' }, PAYLOAD)).toMatchObject({ kind: 'rate_limited', retryAfterMs: 2000 });
    expect(await client.trackUser({ workspaceId: 'slow', apiKey: 'key' }, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'timeout' });
    expect(await client.trackUser({ workspaceId: 'reset', apiKey: 'key' }, PAYLOAD)).toMatchObject({ kind: 'transient', reason: 'network' });
  });
});
