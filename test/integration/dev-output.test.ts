/**
 * What `npm run dev` tells a person, against what it does: the banner's masking claim and the
 * printed payload, and the `standard` source with the sample mapping (no configuration at all)
 * or without a mapping (a configuration that has none: 422, as deployed).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { startDev, type DevHandle } from '../../local/dev';
import { buildSignedSample, postSignedRequest } from '../../local/samples';
import { waitFor } from '../helpers/wait';

let dev: DevHandle | undefined;
afterEach(async () => {
  await dev?.stop();
  dev = undefined;
});

const QUIET_HANDLERS = { POWERTOOLS_LOG_LEVEL: 'SILENT' };

describe('npm run dev output', () => {
  it('refuses to start on a MoEngage target or a configuration file the sender could not use, before answering any webhook', async () => {
    const target = { MOENGAGE_WORKSPACE_ID: 'ws1', MOENGAGE_API_KEY: 'k1' };
    const start = (env: Record<string, string>) => startDev({ env: { ...QUIET_HANDLERS, ...env }, port: 0, sqsPort: 0, quiet: true });
    await expect(start({ ...target, MOENGAGE_DC: '07' })).rejects.toThrow(/MOENGAGE_DC must be one of 01, 02, 03, 04, 05, 06, 101; got "07"/);
    await expect(start({ ...target, MOENGAGE_DC: '1' })).rejects.toThrow(/did you mean "01"/);
    await expect(start({ ...target, MOENGAGE_BASE_URL: 'ftp://example.com' })).rejects.toThrow(/MOENGAGE_BASE_URL must be an absolute http\(s\) URL/);
    await expect(start({ ...target, MOENGAGE_BASE_URL: 'http://127.0.0.1:4010', MOENGAGE_DC: '7' })).rejects.toThrow(/MOENGAGE_DC must be one of/);
    const dir = mkdtempSync(join(tmpdir(), 'dev-config-'));
    try {
      const typo = join(dir, 'adapter.json');
      writeFileSync(typo, JSON.stringify({ source: { stripe: { customerIdField: 'email', deleteUsers: true } } }));
      await expect(start({ ADAPTER_CONFIG: typo })).rejects.toThrow(/unknown key "source" \(did you mean sources\?\)/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('the banner says what the printed payloads mask, and they do: no email, phone, first or last name in the clear', async () => {
    const lines: string[] = [];
    dev = await startDev({ env: QUIET_HANDLERS, port: 0, sqsPort: 0, log: (l) => lines.push(l), poller: { waitTimeSeconds: 0 } });
    expect(lines.find((l) => l.includes('moengage  emulator'))).toMatch(/ are printed \(emails, phone numbers, names and birth dates masked\)$/);
    const signed = buildSignedSample('clerk', { secret: dev.env.CLERK_WEBHOOK_SECRET });
    expect((await postSignedRequest(dev.url, signed)).status).toBe(202);
    await waitFor(() => lines.some((l) => l.startsWith('[moengage-emulator] accepted')), 'the printed payload');
    const printed = lines.find((l) => l.startsWith('[moengage-emulator] accepted'))!;
    expect(printed).toContain(signed.customerId);
    // The customer id is shown whole (the sample's happens to contain the name); the attributes are masked.
    const attributes = JSON.stringify((JSON.parse(printed.slice(printed.indexOf('{'))) as { attributes: unknown }).attributes);
    expect(attributes).not.toMatch(/jane\.doe@example\.com|5555550123|Jane|Doe/);
    expect(printed).toContain('"u_fn":"J***"');
  });

  it('standard: the sample mapping without any configuration, 422 naming `mapping` with a configuration that has none', async () => {
    dev = await startDev({ env: QUIET_HANDLERS, port: 0, sqsPort: 0, quiet: true, poller: { waitTimeSeconds: 0 } });
    const sample = buildSignedSample('standard', { secret: dev.env.STANDARD_WEBHOOK_SECRET });
    expect((await postSignedRequest(dev.url, sample)).status).toBe(202);
    await dev.stop();

    dev = await startDev({ env: { ...QUIET_HANDLERS, ADAPTER_CONFIG_JSON: '{"sources":{}}' }, port: 0, sqsPort: 0, quiet: true, poller: { waitTimeSeconds: 0 } });
    const refused = await postSignedRequest(dev.url, buildSignedSample('standard', { secret: dev.env.STANDARD_WEBHOOK_SECRET }));
    expect(refused.status).toBe(422);
    expect(JSON.parse(refused.body)).toMatchObject({ error: { field: 'mapping' } });
  });
});
