/**
 * What the stack prints for on-call (alarm descriptions, the DlqCommand output) and the
 * teardown-related context keys: runbookBaseUrl and queueRemovalPolicy.
 */
import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { buildAdapterApp } from '../../lib/adapter-stack';
import { ALARM_DESCRIPTION_LIMIT, alarmIdsFor } from '../../lib/observability';
import { TOOL_COMMAND } from '../../lib/tool-command';
import { CDK_JSON_CONTEXT, resourcesOfType, synthAdapter } from './synth';

const BASE = 'https://github.com/acme/moengage-webhook-adapter/blob/v1.2.0';

function descriptions(context: Record<string, unknown> = {}): Map<string, string> {
  const s = synthAdapter(context);
  return new Map(
    resourcesOfType(s, 'AWS::CloudWatch::Alarm').map(([, a]) => [String(a.AlarmName).replace(/^MoEngageAdapter-/, ''), String(a.AlarmDescription)]),
  );
}

function build(context: Record<string, unknown>): () => unknown {
  return () => buildAdapterApp(new App({ context: { ...CDK_JSON_CONTEXT, moengageDc: '01', ...context } }), { processEnv: {}, nag: false });
}

describe('runbookBaseUrl', () => {
  it('gives every alarm description a full URL to its runbook section, within CloudWatch\'s limit', () => {
    const d = descriptions({ runbookBaseUrl: `${BASE}/` });
    expect([...d.keys()].sort()).toEqual(alarmIdsFor({ httpApi: false, stateStore: true }).sort());
    for (const [id, text] of d) {
      expect(text.endsWith(`Runbook: ${BASE}/docs/runbook.md#${id.toLowerCase()}`)).toBe(true);
      expect(text.length).toBeLessThanOrEqual(ALARM_DESCRIPTION_LIMIT);
    }
  });

  it('falls back to the repository path', () => {
    for (const [id, text] of descriptions()) expect(text.endsWith(`Runbook: docs/runbook.md#${id.toLowerCase()}`)).toBe(true);
  });

  it('refuses what is not an http(s) URL, or one that would not fit', () => {
    expect(build({ runbookBaseUrl: 'docs' })).toThrow(/^Invalid configuration runbookBaseUrl: must be an http\(s\) URL/);
    expect(build({ runbookBaseUrl: `${BASE}?ref=1` })).toThrow(/runbookBaseUrl/);
    expect(build({ runbookBaseUrl: `https://example.com/${'x'.repeat(900)}` })).toThrow(/too long, an alarm description would be \d+ characters/);
  });
});

describe('the printed on-call command', () => {
  it('is the one of lib/tool-command.ts, which never downloads a package', () => {
    expect(TOOL_COMMAND).toBe('npx --no-install moengage-adapter');
    const s = synthAdapter();
    expect(s.json.Outputs?.DlqCommand?.Value).toBe(`${TOOL_COMMAND} dlq list --stack MoEngageAdapter`);
    const texts = [...descriptions().values(), String(s.json.Outputs?.DlqCommand?.Value)];
    expect(texts.join('\n')).not.toMatch(/(?<!--no-install )moengage-adapter dlq/);
    // The stack's own name, ready to paste.
    expect(descriptions().get('DlqNotEmpty')).toContain(`${TOOL_COMMAND} dlq list --stack MoEngageAdapter\` (from a clone`);
  });
});

describe('a customerIdField that cannot exist', () => {
  it('fails the synthesis with the path it probably meant', () => {
    expect(build({ adapter: { sources: { stripe: { customerIdField: 'metadata.user_id' } } } })).toThrow(
      /^Invalid configuration adapter\.sources\.stripe\.customerIdField: "metadata\.user_id" cannot exist: .*did you mean data\.object\.metadata\.user_id\?$/,
    );
    expect(build({ adapter: { sources: { stripe: { customerIdField: 'data.object.metadata.user_id' } } } })).not.toThrow();
  });
});

describe('queueRemovalPolicy', () => {
  const policies = (context: Record<string, unknown>) =>
    Object.values(synthAdapter(context).json.Resources as Record<string, { Type: string; DeletionPolicy?: string }>)
      .filter((r) => r.Type === 'AWS::SQS::Queue')
      .map((r) => r.DeletionPolicy);

  it('keeps the queues by default and with retain', () => {
    expect(policies({})).toEqual(['Retain', 'Retain']);
    expect(policies({ queueRemovalPolicy: 'RETAIN' })).toEqual(['Retain', 'Retain']);
  });

  it('destroy deletes both queues with the stack', () => {
    expect(policies({ queueRemovalPolicy: 'destroy' })).toEqual(['Delete', 'Delete']);
  });

  it('is a known context key; a wrong value names it', () => {
    expect(build({ queueRemovalPolicy: 'keep' })).toThrow(/queueRemovalPolicy/);
  });
});
