/**
 * ADAPTER_CONFIG (the local run's and the CLI's configuration file): the CDK app's shape, read
 * the way the CDK app reads it. A top-level key that neither knows is refused, never dropped.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../functions/core/config';
import { adapterConfigFrom, DEPLOYMENT_CONFIG_KEYS } from '../../functions/shared/runtime';
import { APP_CONFIG_KEYS, loadAppConfig } from '../../lib/app-config';

const dir = mkdtempSync(join(tmpdir(), 'adapter-config-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(doc: unknown): string {
  const path = join(dir, `config-${n++}.json`);
  writeFileSync(path, JSON.stringify(doc));
  return path;
}
const load = (doc: unknown) => adapterConfigFrom({ ADAPTER_CONFIG: file(doc) });
const loadCdk = (doc: unknown) => loadAppConfig((key) => (key === 'configFile' ? file(doc) : undefined));

describe('ADAPTER_CONFIG file', () => {
  it('knows every deployment key of the CDK app (the two lists are one)', () => {
    expect([...DEPLOYMENT_CONFIG_KEYS].sort()).toEqual(APP_CONFIG_KEYS.filter((k) => k !== 'adapter').sort());
  });

  it('reads top-level sources / identityResolution, or adapter, beside deployment keys', () => {
    const sources = { stripe: { customerIdField: 'email', deleteUsers: true } };
    expect(load({ sources }).sources.stripe).toMatchObject(sources.stripe);
    expect(load({ moengageDc: '01', batchSize: 10, sources, $schema: './schema.json' }).sources.stripe).toMatchObject(sources.stripe);
    expect(load({ adapter: { sources } }).sources.stripe).toMatchObject(sources.stripe);
    expect(load({ identityResolution: { identifiers: { moe_email: 'u_em' } } }).identityResolution).toEqual({ identifiers: { moe_email: 'u_em' } });
  });

  it('refuses a misspelt or unknown top-level key, as the CDK app does, with a hint', () => {
    for (const [doc, hint] of [
      [{ source: { stripe: { customerIdField: 'email' } } }, /unknown key "source" \(did you mean sources\?\)/],
      [{ clerk: { deleteUsers: true } }, /unknown key "clerk"/],
      [{ sources: {}, maxRecieveCount: 5 }, /unknown key "maxRecieveCount" \(did you mean maxReceiveCount\?\)/],
    ] as const) {
      expect(() => load(doc)).toThrow(ConfigError);
      expect(() => load(doc)).toThrow(hint);
      expect(() => loadCdk(doc)).toThrow();
    }
  });

  it('refuses adapter beside top-level sources, as the CDK app does', () => {
    const doc = { adapter: { sources: {} }, sources: { clerk: { deleteUsers: true } } };
    expect(() => load(doc)).toThrow(/both "adapter" and top-level/);
    expect(() => loadCdk(doc)).toThrow(/both "adapter" and top-level/);
  });
});
