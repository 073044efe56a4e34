/**
 * Output a person reads: configuration mistakes named with a "did you mean", a customerIdField
 * that cannot exist refused before anything runs, the unknown-source 404, the local run's log
 * context and the MoEngage emulator's masked payload lines.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Logger } from '@aws-lambda-powertools/logger';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseAdapterConfig, SOURCE_NAMES, type SourceName } from '../../functions/core/config';
import { closestKey } from '../../functions/core/suggest';
import { errorResponse, receiveWebhook } from '../../functions/receiver/receive';
import { customerIdFieldProblems, customerIdPathProblem } from '../../functions/sources/body-paths';
import { startDev } from '../../local/dev';
import { MASKED_IN_LOG, maskPii } from '../../local/moengage-emulator';
import { createLambdaContext } from '../../local/poller';

const FIXTURES = join(__dirname, '../fixtures');

/** Every path to a string, number or boolean in a JSON value (array indexes as segments). */
function leafPaths(value: unknown, prefix: string[] = []): string[] {
  if (value === null || typeof value !== 'object') return prefix.length > 0 && value !== null ? [prefix.join('.')] : [];
  return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => leafPaths(v, [...prefix, k]));
}

describe('"did you mean" for the adapter configuration', () => {
  it('a mapping typo names the key it meant', () => {
    expect(() => parseAdapterConfig({ sources: { standard: { mapping: { events: ['user.created'], customerID: 'data.id' } } } })).toThrow(
      'sources.standard.mapping: Unrecognized key: "customerID" (did you mean customerId?)',
    );
  });

  it('per-source options and the top level too; no guess for what is far from any key', () => {
    expect(() => parseAdapterConfig({ sources: { clerk: { customerIdFeild: 'email' } } })).toThrow('(did you mean customerIdField?)');
    expect(() => parseAdapterConfig({ sourcse: {} })).toThrow('(root): Unrecognized key: "sourcse" (did you mean sources?)');
    expect(() => parseAdapterConfig({ sources: { clerk: { zzzzzzzz: 1 } } })).toThrow(/Unrecognized key: "zzzzzzzz"$/m);
  });

  it('short keys need a close match', () => {
    expect(closestKey('id', ['data', 'type'])).toBeUndefined();
    expect(closestKey('maxRecieveCount', ['maxReceiveCount', 'batchSize'])).toBe('maxReceiveCount');
  });
});

describe('customerIdField paths that cannot exist', () => {
  it('are refused with the path the operator probably meant', () => {
    expect(customerIdPathProblem('clerk', 'external_id')).toMatch(/clerk webhooks have no external_id .*did you mean data\.external_id\?$/);
    expect(customerIdPathProblem('stripe', 'metadata.user_id')).toMatch(/did you mean data\.object\.metadata\.user_id\?$/);
    expect(customerIdPathProblem('stripe', 'data.objct.id')).toMatch(/did you mean data\.object\.id\?$/);
    expect(customerIdPathProblem('auth0', 'user_id')).toMatch(/did you mean data\.object\.user_id\?$/);
    expect(customerIdPathProblem('workos', 'type.id')).toMatch(/workos webhooks have no type/);
    expect(customerIdPathProblem('clerk', 'type.x')).toMatch(/a single value at type/);
    expect(customerIdPathProblem('stripe', 'data.object')).toMatch(/is an object in stripe webhooks, not a customer id/);
  });

  it('never refuse a path to a value in a real webhook of that provider (test/fixtures), nor email / phone', () => {
    let checked = 0;
    for (const source of readdirSync(FIXTURES) as SourceName[]) {
      expect(SOURCE_NAMES).toContain(source);
      for (const file of readdirSync(join(FIXTURES, source))) {
        const body = JSON.parse(readFileSync(join(FIXTURES, source, file), 'utf8')) as unknown;
        for (const path of leafPaths(body)) {
          expect(customerIdPathProblem(source, path), `${source}/${file}: ${path}`).toBeUndefined();
          checked++;
        }
      }
      expect(customerIdPathProblem(source, 'email')).toBeUndefined();
      expect(customerIdPathProblem(source, 'phone')).toBeUndefined();
    }
    expect(checked).toBeGreaterThan(500);
  });

  it('leave the sources whose top level is the provider\'s own resource (shopify, segment) or the sender\'s (standard) alone', () => {
    for (const source of ['shopify', 'segment', 'standard'] as const) expect(customerIdPathProblem(source, 'no.such.field')).toBeUndefined();
  });

  it('are listed per source with their key path', () => {
    const config = parseAdapterConfig({ sources: { clerk: { customerIdField: 'external_id' }, stripe: { customerIdField: 'data.object.metadata.uid' } } });
    expect(customerIdFieldProblems(config, 'adapter')).toEqual([expect.stringMatching(/^adapter\.sources\.clerk\.customerIdField: "external_id" cannot exist: /)]);
  });

  it('stop npm run dev at start-up, before anything listens', async () => {
    await expect(
      startDev({ env: { ADAPTER_CONFIG_JSON: JSON.stringify({ sources: { clerk: { customerIdField: 'external_id' } } }) }, port: 0, sqsPort: 0, quiet: true }),
    ).rejects.toThrow(/^Invalid adapter configuration:\nsources\.clerk\.customerIdField: "external_id" cannot exist: .*did you mean data\.external_id\?$/);
  });
});

describe('the unknown-source 404', () => {
  const deps = { config: parseAdapterConfig({ sources: { stripe: { enabled: false } } }) } as Parameters<typeof receiveWebhook>[1];
  const post = (path: string) => receiveWebhook({ method: 'POST', path, headers: {}, rawBody: Buffer.from('{}') }, deps);

  it('names the source it got and the enabled ones', async () => {
    const res = await post('/webhooks/clerck');
    expect(res.statusCode).toBe(404);
    expect(JSON.parse(res.body)).toEqual({
      error: { type: 'not_found', message: 'unknown source "clerck": the enabled sources are clerk, shopify, workos, auth0, segment, standard' },
    });
  });

  it('shows a hostile name only as short, safe characters', async () => {
    const res = await post(`/webhooks/${'<script>'.repeat(20)}`);
    const message = (JSON.parse(res.body) as { error: { message: string } }).error.message;
    expect(message).toMatch(/^unknown source "\?script\?\?script.{20,}\.\.\."/);
    expect(message).not.toContain('<');
  });

  it('another path still says where webhooks go', async () => {
    expect(JSON.parse((await post('/hooks')).body)).toEqual(
      JSON.parse(errorResponse(404, 'not_found', 'unknown route: webhooks are received at POST /webhooks/{source}, source one of clerk, shopify, workos, auth0, segment, standard').body),
    );
  });
});

describe('the local run\'s sender log lines', () => {
  afterEach(() => vi.restoreAllMocks());

  it('carry the invocation\'s request id and cold start, no made-up ARN, memory or function name', () => {
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      lines.push(String(chunk));
      return true;
    });
    const logger = new Logger({ serviceName: 'moengage-adapter-sender', logLevel: 'INFO' });
    const context = createLambdaContext({ timeoutMs: 60_000 });
    logger.addContext(context);
    logger.info('delivered', { source: 'clerk', eventId: 'msg_28140eddb1aa8a0e4e902c973a7', eventType: 'user.created' });
    const line = lines.join('');
    const record = JSON.parse(line) as Record<string, unknown>;
    expect(record.function_request_id).toBe(context.awsRequestId);
    expect(record).toHaveProperty('cold_start');
    expect(Object.keys(record)).toEqual(['level', 'message', 'timestamp', 'service', 'cold_start', 'function_request_id', 'sampling_rate', 'source', 'eventId', 'eventType']);
    // About 300 characters, of which the Lambda context is 66 (it was about 480, 250 of them context).
    expect(line.length).toBeLessThanOrEqual(310);
  });
});

describe('the MoEngage emulator\'s printed payloads', () => {
  it('mask what the dev banner says they mask', () => {
    expect(MASKED_IN_LOG).toBe('emails, phone numbers, names and birth dates masked');
    const shown = maskPii({
      type: 'customer',
      customer_id: 'user_2dev',
      attributes: { u_em: 'jane.doe@example.com', u_mb: '+15555550123', u_fn: 'Jane', u_ln: 'Doe', u_n: 'Jane Doe', u_bd: '1990-04-01', plan: 'pro' },
    });
    expect(shown).toEqual({
      type: 'customer',
      customer_id: 'user_2dev',
      attributes: { u_em: 'j***@example.com', u_mb: '***23', u_fn: 'J***', u_ln: 'D***', u_n: 'J***', u_bd: '1***', plan: 'pro' },
    });
    expect(JSON.stringify(shown)).not.toMatch(/Jane|Doe|1990/);
  });
});
