/**
 * The local webhook endpoint of `npm run dev`: a node:http server on 127.0.0.1 that turns each
 * request into a Lambda Function URL event (payload format 2.0) and calls the same receiver
 * handler the Lambda runs, then writes its result back.
 *
 * Bodies are passed base64-encoded (isBase64Encoded: true) so that the exact bytes a provider
 * signed reach the handler. The HTTP layer only refuses what it will not buffer (over 1 MB,
 * 413); the receiver enforces the contract's 256 KB itself.
 *
 * Also serves `GET /healthz`, `GET /_dev/status` and, with the MoEngage emulator,
 * `POST /_dev/moengage/mode` and `GET /_dev/moengage/profiles`; every other request goes to
 * the receiver.
 */
import type { APIGatewayProxyStructuredResultV2, LambdaFunctionURLEvent } from 'aws-lambda';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/** The largest body the HTTP layer reads: 1 MB. */
const MAX_HTTP_BODY_BYTES = 1024 * 1024;

/** What a Function URL handler may return (APIGatewayProxyResultV2). */
export type ReceiverResult = APIGatewayProxyStructuredResultV2 | string | Record<string, unknown> | null | undefined;
export type ReceiverHandler = (event: LambdaFunctionURLEvent) => Promise<ReceiverResult> | ReceiverResult;

export interface HttpServerOptions {
  /** Default 0 (a free port); `npm run dev` uses PORT (3000). */
  port?: number;
  /** Default 127.0.0.1. */
  host?: string;
  receiverHandler: ReceiverHandler;
  /** Body of `GET /_dev/status`; without it the route goes to the receiver like any other. */
  status?: () => unknown;
  /**
   * `POST /_dev/moengage/mode` with `{"mode":"accept"|"reject"|"blocked"}` and/or
   * `{"userRules":[{"customerId","attribute"?,"equals"?,"status","times"?...}]}` (replaces the
   * per-user fault rules; `[]` removes them): switches the MoEngage emulator (local run only),
   * e.g. to rehearse the DLQ runbook or fail one user's update. Answers the state in force, or
   * a message for a request it cannot apply (400, nothing changed); absent when no emulator runs.
   */
  setMoEngageMode?: (request: { mode?: unknown; userRules?: unknown }) => { ok: true; state: unknown } | { ok: false; message: string };
  /** `GET /_dev/moengage/profiles`: the emulator's user profiles and Delete User counts (local run only). */
  moengageProfiles?: () => unknown;
  /** `GET /healthz` answers 200 only once this says true. Default: always ready. */
  ready?: () => boolean;
  /** Default 1 MB. */
  maxBodyBytes?: number;
  /** How long an oversized upload is drained before the connection is cut. Default 5,000 ms. */
  drainTimeoutMs?: number;
  /** One line per failed handler call (no bodies, no headers). */
  log?: (line: string) => void;
  /** Injectable clock (epoch ms). */
  now?: () => number;
  /** Injectable request id. */
  requestId?: () => string;
}

export interface HttpServerHandle {
  url: string;
  port: number;
  server: Server;
  close(): Promise<void>;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** `12/Mar/2020:19:03:58 +0000`, the requestContext.time format. */
function formatRequestTime(epochMs: number): string {
  const d = new Date(epochMs);
  const p = (n: number) => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

export interface RawRequest {
  method: string;
  /** The request target, e.g. `/webhooks/clerk?x=1`. */
  url: string;
  /** Node's rawHeaders: [name, value, name, value, ...]. */
  rawHeaders: readonly string[];
  body: Buffer;
  sourceIp: string;
  httpVersion?: string;
}

/**
 * A Lambda Function URL event (payload format 2.0) for one HTTP request: header names
 * lower-cased, duplicates joined with commas, cookies moved to `cookies`, the body base64.
 */
export function toFunctionUrlEvent(
  req: RawRequest,
  ctx: { now: number; requestId: string },
): LambdaFunctionURLEvent {
  const headers: Record<string, string> = {};
  const cookies: string[] = [];
  for (let i = 0; i + 1 < req.rawHeaders.length; i += 2) {
    const name = (req.rawHeaders[i] ?? '').toLowerCase();
    const value = req.rawHeaders[i + 1] ?? '';
    if (name === 'cookie') {
      for (const c of value.split(';')) {
        const t = c.trim();
        if (t) cookies.push(t);
      }
      continue;
    }
    headers[name] = headers[name] === undefined ? value : `${headers[name]},${value}`;
  }
  const q = req.url.indexOf('?');
  const rawPath = q < 0 ? req.url : req.url.slice(0, q);
  const rawQueryString = q < 0 ? '' : req.url.slice(q + 1);
  const queryStringParameters: Record<string, string> = {};
  for (const [k, v] of new URLSearchParams(rawQueryString)) {
    queryStringParameters[k] = queryStringParameters[k] === undefined ? v : `${queryStringParameters[k]},${v}`;
  }
  const hostName = (headers.host ?? 'localhost').replace(/:\d+$/, '');
  // A Function URL's domain is `<url-id>.lambda-url.<region>.on.aws`; locally the host is an IP or localhost.
  const urlId = /^[\d.]+$|^\[|^localhost$/.test(hostName) ? 'local' : (hostName.split('.')[0] ?? 'local');
  const event: LambdaFunctionURLEvent = {
    version: '2.0',
    routeKey: '$default',
    rawPath,
    rawQueryString,
    headers,
    requestContext: {
      accountId: 'anonymous',
      apiId: urlId,
      domainName: hostName,
      domainPrefix: urlId,
      http: {
        method: req.method,
        path: rawPath,
        protocol: `HTTP/${req.httpVersion ?? '1.1'}`,
        sourceIp: req.sourceIp,
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: ctx.requestId,
      routeKey: '$default',
      stage: '$default',
      time: formatRequestTime(ctx.now),
      timeEpoch: ctx.now,
    },
    isBase64Encoded: false,
  };
  if (cookies.length > 0) event.cookies = cookies;
  if (rawQueryString !== '') event.queryStringParameters = queryStringParameters;
  if (req.body.length > 0) {
    event.body = req.body.toString('base64');
    event.isBase64Encoded = true;
  }
  return event;
}

export interface HttpAnswer {
  statusCode: number;
  headers: Record<string, string | string[]>;
  body: Buffer;
}

/** How a Function URL turns a handler result into an HTTP response. */
function fromHandlerResult(result: ReceiverResult): HttpAnswer {
  if (typeof result === 'string') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(result, 'utf8') };
  }
  if (result === null || result === undefined) {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.alloc(0) };
  }
  if (typeof (result as { statusCode?: unknown }).statusCode !== 'number') {
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(result), 'utf8') };
  }
  const r = result as APIGatewayProxyStructuredResultV2;
  const headers: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(r.headers ?? {})) headers[k.toLowerCase()] = String(v);
  if (r.cookies && r.cookies.length > 0) headers['set-cookie'] = [...r.cookies];
  const body = r.body === undefined ? Buffer.alloc(0) : r.isBase64Encoded ? Buffer.from(r.body, 'base64') : Buffer.from(r.body, 'utf8');
  if (headers['content-type'] === undefined && body.length > 0) headers['content-type'] = 'application/json';
  return { statusCode: r.statusCode ?? 200, headers, body };
}

function errorJson(type: string, message: string): Buffer {
  return Buffer.from(JSON.stringify({ error: { type, message } }), 'utf8');
}

function write(res: ServerResponse, answer: HttpAnswer, extra: Record<string, string> = {}): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': String(answer.body.length), ...extra });
  res.end(answer.body);
}

export async function startHttpServer(options: HttpServerOptions): Promise<HttpServerHandle> {
  const host = options.host ?? '127.0.0.1';
  const maxBody = options.maxBodyBytes ?? MAX_HTTP_BODY_BYTES;
  const drainTimeoutMs = options.drainTimeoutMs ?? 5_000;
  const now = options.now ?? Date.now;
  const newRequestId = options.requestId ?? randomUUID;
  const log = options.log ?? (() => {});
  const sockets = new Set<Socket>();

  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`[http] request failed: ${(err as Error)?.name ?? 'Error'}`);
      write(res, { statusCode: 500, headers: { 'content-type': 'application/json' }, body: errorJson('internal_error', 'internal error') });
    });
  });
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });

  function tooLarge(res: ServerResponse): void {
    write(
      res,
      {
        statusCode: 413,
        headers: { 'content-type': 'application/json' },
        body: errorJson('payload_too_large', `request body is larger than ${maxBody} bytes`),
      },
      { connection: 'close' },
    );
  }

  /** Reads at most maxBody bytes; beyond that it discards (bounded in time) and reports too large. */
  function readBody(req: IncomingMessage): Promise<Buffer | 'too_large'> {
    return new Promise((resolve, reject) => {
      const declared = Number(req.headers['content-length'] ?? NaN);
      const chunks: Buffer[] = [];
      let size = 0;
      let over = Number.isFinite(declared) && declared > maxBody;
      let drainTimer: NodeJS.Timeout | undefined;
      const startDrainTimer = () => {
        drainTimer ??= setTimeout(() => {
          req.removeAllListeners('data');
          resolve('too_large');
        }, drainTimeoutMs);
      };
      if (over) startDrainTimer();
      req.on('data', (chunk: Buffer) => {
        if (over) return;
        size += chunk.length;
        if (size > maxBody) {
          over = true;
          chunks.length = 0;
          startDrainTimer();
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        clearTimeout(drainTimer);
        resolve(over ? 'too_large' : Buffer.concat(chunks));
      });
      req.on('error', (err) => {
        clearTimeout(drainTimer);
        reject(err);
      });
    });
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const target = req.url ?? '/';
    const path = target.split('?')[0] ?? '/';
    const method = req.method ?? 'GET';

    if (path === '/healthz') {
      req.resume();
      if (method !== 'GET' && method !== 'HEAD') {
        write(res, { statusCode: 405, headers: { 'content-type': 'application/json', allow: 'GET' }, body: errorJson('method_not_allowed', 'use GET') });
        return;
      }
      const ready = options.ready?.() ?? true;
      const body = Buffer.from(JSON.stringify(ready ? { status: 'ok' } : { status: 'starting' }), 'utf8');
      write(res, { statusCode: ready ? 200 : 503, headers: { 'content-type': 'application/json' }, body });
      return;
    }
    if (path === '/_dev/status' && options.status) {
      req.resume();
      if (method !== 'GET') {
        write(res, { statusCode: 405, headers: { 'content-type': 'application/json', allow: 'GET' }, body: errorJson('method_not_allowed', 'use GET') });
        return;
      }
      write(res, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(options.status()), 'utf8') });
      return;
    }

    if (path === '/_dev/moengage/profiles' && options.moengageProfiles) {
      req.resume();
      if (method !== 'GET') {
        write(res, { statusCode: 405, headers: { 'content-type': 'application/json', allow: 'GET' }, body: errorJson('method_not_allowed', 'use GET') });
        return;
      }
      write(res, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(options.moengageProfiles()), 'utf8') });
      return;
    }

    if (path === '/_dev/moengage/mode' && options.setMoEngageMode) {
      const raw = await readBody(req);
      if (method !== 'POST') {
        write(res, { statusCode: 405, headers: { 'content-type': 'application/json', allow: 'POST' }, body: errorJson('method_not_allowed', 'use POST') });
        return;
      }
      const usage = 'send {"mode":"accept"|"reject"|"blocked"} and/or {"userRules":[{"customerId":"...","attribute":"u_em","equals":"...","status":500}]}';
      let request: unknown;
      try {
        request = raw === 'too_large' ? undefined : JSON.parse(raw.toString('utf8'));
      } catch {
        request = undefined;
      }
      const r = request as { mode?: unknown; userRules?: unknown } | undefined;
      if (typeof r !== 'object' || r === null || Array.isArray(r) || (r.mode === undefined && r.userRules === undefined)) {
        write(res, { statusCode: 400, headers: { 'content-type': 'application/json' }, body: errorJson('bad_request', usage) });
        return;
      }
      const applied = options.setMoEngageMode({ mode: r.mode, userRules: r.userRules });
      if (!applied.ok) {
        write(res, { statusCode: 400, headers: { 'content-type': 'application/json' }, body: errorJson('bad_request', `${applied.message}; ${usage}`) });
        return;
      }
      write(res, { statusCode: 200, headers: { 'content-type': 'application/json' }, body: Buffer.from(JSON.stringify(applied.state), 'utf8') });
      return;
    }

    const body = await readBody(req);
    if (body === 'too_large') {
      tooLarge(res);
      if (!req.complete) res.once('finish', () => req.socket.destroy());
      return;
    }
    const event = toFunctionUrlEvent(
      {
        method,
        url: target,
        rawHeaders: req.rawHeaders,
        body,
        sourceIp: (req.socket.remoteAddress ?? '127.0.0.1').replace(/^::ffff:/, ''),
        httpVersion: req.httpVersion,
      },
      { now: now(), requestId: newRequestId() },
    );
    let result: ReceiverResult;
    try {
      result = await options.receiverHandler(event);
    } catch (err) {
      // A Function URL answers 502 when the function fails; the body follows the contract's error shape.
      log(`[http] receiver handler threw ${(err as Error)?.name ?? 'Error'}: ${(err as Error)?.message ?? ''}`.slice(0, 500));
      write(res, { statusCode: 502, headers: { 'content-type': 'application/json' }, body: errorJson('internal_error', 'the receiver failed') });
      return;
    }
    write(res, fromHandlerResult(result));
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closed = false;
  return {
    url: `http://${host}:${port}`,
    port,
    server,
    async close() {
      if (closed) return;
      closed = true;
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
        setTimeout(() => {
          for (const s of sockets) s.destroy();
        }, 2_000).unref();
      });
    },
  };
}
