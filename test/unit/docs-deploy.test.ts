/**
 * docs/deploy.md and the README's deployment claims (issue 12, issue 10's CDK part): the alarm
 * counts and lists, the configuration keys, the smoke test's expected answers (produced here by
 * the real receiver), and the state table's cost arithmetic.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseAdapterConfig } from '../../functions/core/config';
import { receiveWebhook } from '../../functions/receiver/receive';
import { recordingTelemetry } from '../../functions/shared/observability';
import { SOURCES } from '../../functions/sources';
import { APP_CONFIG_KEYS } from '../../lib/app-config';
import { ALARMS, alarmIdsFor } from '../../lib/observability';
import { signedRequest, TEST_SECRETS, unsignedRequest } from '../helpers/sign';

const deploy = readFileSync(new URL('../../docs/deploy.md', import.meta.url), 'utf8');
const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve'];

describe('alarm counts and lists', () => {
  const byDefault = alarmIdsFor({ httpApi: false, stateStore: true }).length;
  const withApi = alarmIdsFor({ httpApi: true, stateStore: true }).length;
  const stateless = alarmIdsFor({ httpApi: false, stateStore: false }).length;

  it('deploy.md and the README state the numbers the construct creates', () => {
    const sentence = `${WORDS[byDefault]![0]!.toUpperCase()}${WORDS[byDefault]!.slice(1)} alarms notify an SNS topic (${WORDS[withApi]} with \`ingress: httpApi\`, ${WORDS[stateless]} with \`stateStore: false\``;
    expect(deploy.replace(/\s+/g, ' ')).toContain(sentence);
    expect(readme.replace(/\s+/g, ' ')).toContain(`${WORDS[byDefault]} alarms to an SNS topic (${WORDS[withApi]} with \`httpApi\`, ${WORDS[stateless]} without the state table)`);
  });

  it('the README lists every alarm in its Operating table and its Configuration paragraph', () => {
    for (const { id } of ALARMS) {
      expect(readme).toMatch(new RegExp(`^\\| \`${id}\` \\|`, 'm'));
      expect(readme.split('**Alarms**')[1]!.split('\n\n')[0]).toContain(`\`${id}\``);
    }
  });
});

describe('configuration keys', () => {
  it('every context key has a row in the README configuration table', () => {
    for (const key of APP_CONFIG_KEYS) expect(readme).toMatch(new RegExp(`^\\| \`${key}\` \\|`, 'm'));
  });
});

describe('the smoke test\'s expected answers are what the receiver answers', () => {
  const now = new Date('2026-12-01T12:00:00Z');
  const deps = () => ({
    sources: SOURCES,
    config: parseAdapterConfig({ sources: { standard: { mapping: { events: ['user.updated'], customerId: 'data.id', attributes: { u_em: 'data.email' } } } } }),
    secrets: async (source: keyof typeof TEST_SECRETS) => [TEST_SECRETS[source]],
    enqueue: async () => undefined,
    queueType: 'fifo' as const,
    now: () => now,
    telemetry: recordingTelemetry(),
  });

  it('the signed Standard Webhooks event: 202 with the documented body', async () => {
    const body = '{"type":"user.updated","timestamp":"2025-01-01T00:00:00Z","data":{"id":"deploy-check-1","email":"deploy-check@example.com"}}';
    expect(deploy).toContain(`BODY='${body}'`);
    const res = await receiveWebhook(signedRequest('standard', body, { now, eventId: 'msg_1765000000' }), deps());
    expect(res.statusCode).toBe(202);
    expect(deploy).toContain(`# ${res.body} 202`);
  });

  it('the unsigned Clerk request: 401 with the documented error body', async () => {
    const res = await receiveWebhook(unsignedRequest('clerk', '{}', { now }), deps());
    expect(res.statusCode).toBe(401);
    const prefix = res.body.slice(0, res.body.indexOf(': ') + 2);
    expect(prefix).toBe('{"error":{"type":"unauthorized","message":"signature verification failed: ');
    expect(deploy).toContain(`# ${prefix}...`);
  });

  it('health check', async () => {
    const res = await receiveWebhook({ method: 'GET', path: '/healthz', headers: {}, rawBody: Buffer.alloc(0) }, deps());
    expect(deploy).toContain(`curl -s "$BASE/healthz"                                    # ${res.body}`);
  });
});

describe('state table cost (docs/deploy.md, per-user state table)', () => {
  const PRICE = { rru: 0.125, wru: 0.625, storageGbMonth: 0.25, pitrGbMonth: 0.2 };
  const usd = (v: number) => `$${(Math.round(v * 100 + 1e-9) / 100).toFixed(2)}`;
  const cost = (webhooks: number) => {
    const gb = (webhooks * (7 / 30) * 1_000) / 1e9; // 1 KB items alive for 7 of 30 days
    const reads = (webhooks / 1e6) * PRICE.rru;
    const writes = (webhooks / 1e6) * PRICE.wru;
    return { reads, writes, storage: gb * PRICE.storageGbMonth, pitr: gb * PRICE.pitrGbMonth, gb, total: reads + writes + gb * (PRICE.storageGbMonth + PRICE.pitrGbMonth) };
  };

  it.each([
    [1e6, 0],
    [1e7, 1],
  ])('%d webhooks a month', (n, column) => {
    const c = cost(n);
    const row = (label: string) => deploy.split('\n').find((l) => l.startsWith(`| ${label} |`))!.split('|').map((x) => x.trim());
    const cell = (label: string) => row(label)[3 + column]!;
    expect(Number(cell('Reads').slice(1))).toBeCloseTo(c.reads, 3);
    expect(Number(cell('Writes').slice(1))).toBeCloseTo(c.writes, 3);
    expect(cell('Storage')).toBe(usd(c.storage));
    expect(cell('Point-in-time recovery')).toBe(usd(c.pitr));
    expect(cell('**Table total**')).toBe(`**≈ ${usd(c.total)}**`);
    // The monthly table: the requests are in the per-webhook usage (BENCHMARKS.md's cost model), storage and PITR on their own row.
    expect(row('DynamoDB storage and PITR')[3 + column]).toBe(usd(c.storage + c.pitr));
  });

  it('the monthly totals add up', () => {
    const table = deploy.split('## Monthly cost')[1]!;
    const rows = table.split('\n').filter((l) => /^\| [A-Z]/.test(l) && !l.startsWith('| item') && !l.startsWith('| **'));
    for (const column of [3, 4]) {
      const sum = rows.reduce((acc, l) => acc + Number(l.split('|')[column]!.trim().replace('$', '')), 0);
      const total = table.split('\n').find((l) => l.startsWith('| **Total**'))!.split('|')[column]!.trim();
      expect(total).toBe(`**≈ $${sum.toFixed(2)}**`);
    }
  });
});

describe('one cost model (BENCHMARKS.md "Cost model", README, docs/deploy.md)', () => {
  const benchmarks = readFileSync(new URL('../../BENCHMARKS.md', import.meta.url), 'utf8');
  const model = benchmarks.split('## Cost model')[1]!.split('\n## ')[0]!;
  const perMillion = (label: string): string => {
    const line = model.split('\n').find((l) => l.startsWith(`| ${label} |`));
    expect(line, label).toBeDefined();
    return line!.split('|')[4]!.trim();
  };
  const cents = (usd: string) => `$${Number(usd.slice(1)).toFixed(2)}`;

  it('docs/deploy.md prices the monthly usage with the model\'s figures', () => {
    const trickle = cents(perMillion('customer mode (FIFO), with the state store, at a trickle'));
    const table = deploy.split('## Monthly cost')[1]!;
    const usage = table.split('\n').find((l) => l.startsWith('| Per-webhook usage |'))!.split('|').map((x) => x.trim());
    expect(usage[2]).toContain(`N × ${trickle}/1M`);
    expect(usage[3]).toBe(trickle);
    expect(usage[4]).toBe(`$${(10 * Number(trickle.slice(1))).toFixed(2)}`);
    expect(table).toContain(`${cents(perMillion('customer mode (FIFO), with the state store'))} per million with the state store`);
    expect(table).toContain(`${cents(perMillion('customer mode (FIFO), stateStore: false, at a trickle'))} without`);
  });

  it('the README quotes the same figures', () => {
    for (const label of ['customer mode (FIFO), with the state store', 'customer mode (FIFO), stateStore: false', 'bulk mode (standard)']) {
      expect(readme).toContain(cents(perMillion(label)));
    }
  });
});
