import { describe, expect, it } from 'vitest';
import { Duration } from 'aws-cdk-lib';
import { adapterPropsFromConfig, environmentFromProcess } from '../../lib/adapter-stack';
import { AppConfigError, loadAppConfig, MISSING_DC_MESSAGE, parseAppConfig } from '../../lib/app-config';

/** Context as `-c` delivers it: every value a string. */
function load(context: Record<string, unknown>, files: Record<string, string> = {}) {
  return loadAppConfig((k) => context[k], {
    cwd: '/project',
    readFile: (p) => {
      const text = files[p];
      if (text === undefined) throw Object.assign(new Error(`ENOENT: ${p}`), { code: 'ENOENT' });
      return text;
    },
  });
}

function errorOf(fn: () => unknown): AppConfigError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(AppConfigError);
    return err as AppConfigError;
  }
  throw new Error('expected an AppConfigError');
}

describe('data center', () => {
  it('missing: exactly one line telling what to pass', () => {
    const err = errorOf(() => load({}));
    expect(err.message).toBe('Missing context moengageDc: pass -c moengageDc=01 (one of 01, 02, 03, 04, 05, 06, 101)');
    expect(err.message).toBe(MISSING_DC_MESSAGE);
  });

  it('invalid: one line naming the value and the choices', () => {
    const err = errorOf(() => load({ moengageDc: '07' }));
    expect(err.message.split('\n')).toHaveLength(1);
    expect(err.message).toBe('Invalid context moengageDc "07": pass -c moengageDc=01 (one of 01, 02, 03, 04, 05, 06, 101)');
  });

  it('"1" suggests "01"; a number 1 from cdk.json means "01"', () => {
    expect(errorOf(() => load({ moengageDc: '1' })).message).toContain('(did you mean 01?)');
    expect(load({ moengageDc: 1 }).moengageDc).toBe('01');
    expect(load({ moengageDc: 101 }).moengageDc).toBe('101');
    for (const dc of ['01', '02', '03', '04', '05', '06', '101']) expect(load({ moengageDc: dc }).moengageDc).toBe(dc);
  });

  it('a base URL replaces the data center; it is validated', () => {
    const c = load({ moengageBaseUrl: 'https://moengage-proxy.example.com/' });
    expect(c.moengageDc).toBeUndefined();
    expect(c.moengageBaseUrl).toBe('https://moengage-proxy.example.com/');
    expect(errorOf(() => load({ moengageBaseUrl: 'https://user:pw@proxy.example.com' })).message).toMatch(
      /^Invalid configuration moengageBaseUrl: must not contain credentials/,
    );
    expect(errorOf(() => load({ moengageBaseUrl: 'ftp://proxy.example.com' })).message).toMatch(/^Invalid configuration moengageBaseUrl:/);
  });
});

describe('defaults and coercion of -c strings', () => {
  it('applies the documented defaults', () => {
    const c = load({ moengageDc: '01' });
    expect(c).toMatchObject({
      stackName: 'MoEngageAdapter',
      deliveryMode: 'customer',
      maxReceiveCount: 5,
      ingress: { type: 'functionUrl' },
      logRetentionDays: 30,
      logLevel: 'INFO',
      tracing: false,
      receiverMemoryMb: 256,
      receiverTimeoutSeconds: 10,
      senderTimeoutSeconds: 60,
      expectedMoEngageLatencyMs: 300,
      rateLimitPerMinute: 10_000,
      bulkRateLimitPerMinute: 60_000,
      queueAgeAlarmMinutes: 15,
      adapter: { sources: {} },
    });
    expect(c.senderMaxConcurrency).toBeUndefined();
    expect(c.alarmEmail).toBeUndefined();
    expect(c.stateStore).toBe(true);
    expect(c.stateRetentionDays).toBeUndefined();
    expect(c.receiverReservedConcurrency).toBeUndefined();
    expect(c.existingSecretsKmsKeyArn).toBeUndefined();
  });

  it('state store, its retention, reserved concurrency and the secrets key reach the construct props', () => {
    const keyArn = 'arn:aws:kms:us-east-1:123456789012:key/mrk-1234abcd12ab34cd56ef1234567890ab';
    const on = adapterPropsFromConfig(
      load({ moengageDc: '01', stateRetentionDays: '14', receiverReservedConcurrency: '100', existingSigningSecret: 'prod/signing', existingSecretsKmsKeyArn: keyArn }),
    );
    expect(on).toMatchObject({ stateStore: true, receiverReservedConcurrency: 100, secretsKmsKey: keyArn, signingSecret: 'prod/signing' });
    expect(on.stateRetention?.toDays()).toBe(Duration.days(14).toDays());
    const off = adapterPropsFromConfig(load({ moengageDc: '01', stateStore: 'false' }));
    expect(off.stateStore).toBe(false);
    expect(off.stateRetention).toBeUndefined();
    expect(off).not.toHaveProperty('receiverReservedConcurrency');
    expect(off).not.toHaveProperty('secretsKmsKey');
  });

  it('deleteUsers per source, from -c JSON, a cdk.json object or a configFile, reaches the construct props', () => {
    const fromC = adapterPropsFromConfig(load({ moengageDc: '01', adapter: '{"sources":{"clerk":{"deleteUsers":true}}}' }));
    expect(fromC.adapter?.sources?.clerk?.deleteUsers).toBe(true);
    const fromCdkJson = adapterPropsFromConfig(parseAppConfig({ moengageDc: '01', stateStore: false, adapter: { sources: { stripe: { deleteUsers: true } } } }));
    expect(fromCdkJson.adapter?.sources?.stripe?.deleteUsers).toBe(true);
    expect(fromCdkJson.stateStore).toBe(false);
    const fromFile = adapterPropsFromConfig(
      load({ configFile: 'a.json' }, { '/project/a.json': JSON.stringify({ moengageDc: '01', stateStore: true, sources: { shopify: { deleteUsers: true } } }) }),
    );
    expect(fromFile.adapter?.sources?.shopify?.deleteUsers).toBe(true);
    expect(errorOf(() => load({ moengageDc: '01', adapter: '{"sources":{"clerk":{"deleteUsers":"yes"}}}' })).message).toMatch(
      /^Invalid configuration adapter\.sources\.clerk\.deleteUsers: /,
    );
  });

  it('turns numeric and boolean strings into numbers and booleans', () => {
    const c = load({
      moengageDc: '02',
      maxReceiveCount: '8',
      tracing: 'true',
      logRetentionDays: '90',
      senderParallelism: ' 6 ',
      senderMaxConcurrency: '40',
      expectedMoEngageLatencyMs: '450',
    });
    expect(c).toMatchObject({ maxReceiveCount: 8, tracing: true, logRetentionDays: 90, senderParallelism: 6, senderMaxConcurrency: 40, expectedMoEngageLatencyMs: 450 });
    expect(load({ moengageDc: '01', tracing: 'false' }).tracing).toBe(false);
  });

  it('parses JSON strings for objects; "httpApi" is shorthand for { type: "httpApi" }', () => {
    expect(load({ moengageDc: '01', ingress: 'httpApi' }).ingress).toEqual({ type: 'httpApi' });
    const c = load({
      moengageDc: '01',
      ingress: '{"type":"httpApi","throttling":{"rateLimit":"50","burstLimit":100},"customDomain":{"domainName":"hooks.example.com","certificateArn":"arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab"}}',
      adapter: '{"sources":{"clerk":{"customerIdField":"email"}}}',
    });
    expect(c.ingress).toEqual({
      type: 'httpApi',
      throttling: { rateLimit: 50, burstLimit: 100 },
      customDomain: { domainName: 'hooks.example.com', certificateArn: 'arn:aws:acm:eu-west-1:123456789012:certificate/0f1e2d3c-aaaa-bbbb-cccc-1234567890ab' },
    });
    expect(c.adapter.sources.clerk?.customerIdField).toBe('email');
  });

  it('accepts objects as given by cdk.json', () => {
    const c = parseAppConfig({ moengageDc: '03', adapter: { sources: { stripe: { enabled: false } } }, ingress: { type: 'functionUrl' } });
    expect(c.adapter.sources.stripe?.enabled).toBe(false);
  });
});

describe('validation messages name the bad path', () => {
  it.each([
    [{ maxReceiveCount: '1' }, /^Invalid configuration maxReceiveCount: /],
    [{ maxReceiveCount: 'five' }, /^Invalid configuration maxReceiveCount: /],
    [{ queueType: 'priority' }, /^Invalid configuration queueType: /],
    [{ deliveryMode: 'batch' }, /^Invalid configuration deliveryMode: /],
    [{ logRetentionDays: '31' }, /^Invalid configuration logRetentionDays: must be one of 1, 3, 5, 7, 14, 30/],
    [{ alarmEmail: 'not-an-email' }, /^Invalid configuration alarmEmail: /],
    [{ senderMaxConcurrency: '1' }, /^Invalid configuration senderMaxConcurrency: /],
    [{ batchSize: '20' }, /^Invalid configuration batchSize: a FIFO queue delivers at most 10/],
    [{ maxBatchingWindowSeconds: '5' }, /^Invalid configuration maxBatchingWindowSeconds: a FIFO event source has no batching window/],
    [{ queueType: 'standard', batchSize: '100', maxBatchingWindowSeconds: '0' }, /^Invalid configuration maxBatchingWindowSeconds: /],
    [{ publicBaseUrl: 'http://hooks.example.com' }, /^Invalid configuration publicBaseUrl: must be an https URL/],
    [{ ingress: '{"type":"functionUrl","customDomain":{"domainName":"a.example.com","certificateArn":"arn:aws:acm:us-east-1:123456789012:certificate/x"}}' }, /^Invalid configuration ingress\.type: throttling and customDomain need/],
    [{ ingress: '{"type":"httpApi","customDomain":{"domainName":"a.example.com","certificateArn":"nope"}}' }, /^Invalid configuration ingress\.customDomain\.certificateArn: must be an ACM certificate ARN/],
    [{ existingMoEngageSecret: 'arn:aws:s3:::bucket' }, /^Invalid configuration existingMoEngageSecret: must be a Secrets Manager secret name or its full ARN/],
    [{ stackName: '1-bad' }, /^Invalid configuration stackName: /],
    [{ ingress: 'httpApi', receiverTimeoutSeconds: '45' }, /^Invalid configuration receiverTimeoutSeconds: API Gateway waits at most 29 seconds/],
    [{ adapter: '{"sources":{"standard":{"mapping":{"events":[]}}}}' }, /^Invalid configuration adapter\.sources\.standard\.mapping\.events: list at least one event type/],
    [{ adapter: '{"sources":{"clerk":{"customerIdField":"data..id"}}}' }, /^Invalid configuration adapter\.sources\.clerk\.customerIdField: /],
    [{ adapter: '{"sources":{"mailchimp":{}}}' }, /^Invalid configuration adapter\.sources: /],
    [{ adapter: '{"sources":' }, /^Invalid context adapter: not valid JSON/],
    [{ stateStore: 'no' }, /^Invalid configuration stateStore: /],
    [{ stateRetentionDays: '0' }, /^Invalid configuration stateRetentionDays: /],
    [{ stateRetentionDays: '400' }, /^Invalid configuration stateRetentionDays: /],
    [{ stateStore: 'false', stateRetentionDays: '7' }, /^Invalid configuration stateRetentionDays: there is no state to keep with stateStore false/],
    [{ receiverReservedConcurrency: '0' }, /^Invalid configuration receiverReservedConcurrency: /],
    [{ existingMoEngageSecret: 'prod/m', existingSecretsKmsKeyArn: 'alias/moengage' }, /^Invalid configuration existingSecretsKmsKeyArn: must be a KMS key ARN \(arn:aws:kms:REGION:ACCOUNT:key\/KEY_ID; aws kms describe-key --key-id alias\/NAME prints it\)/],
    [{ existingSecretsKmsKeyArn: 'arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab' }, /^Invalid configuration existingSecretsKmsKeyArn: the secrets this stack creates use the AWS managed key aws\/secretsmanager: pass it only with existingMoEngageSecret or existingSigningSecret$/],
  ])('%j', (context, pattern) => {
    const err = errorOf(() => load({ moengageDc: '01', ...context }));
    expect(err.message).toMatch(pattern);
  });

  it('reports every problem, one per line', () => {
    const err = errorOf(() => load({ moengageDc: '9', maxReceiveCount: '0', queueType: 'x' }));
    const lines = err.message.split('\n');
    expect(lines).toHaveLength(3);
    expect(lines[0]).toMatch(/^Invalid context moengageDc "9"/);
    expect(lines.slice(1).join('\n')).toMatch(/maxReceiveCount/);
    expect(lines.slice(1).join('\n')).toMatch(/queueType/);
  });

  it('never echoes control characters of a bad value', () => {
    const err = errorOf(() => load({ moengageDc: '0\u001b[31m1' }));
    expect(err.message).not.toContain('\u001b');
  });
});

describe('unknown context keys', () => {
  const withKeys = (context: Record<string, unknown>) => loadAppConfig((k) => context[k], { contextKeys: Object.keys(context) });

  it('reports a typo with a suggestion instead of ignoring it', () => {
    const err = errorOf(() => withKeys({ moengageDc: '01', maxRecieveCount: '3' }));
    expect(err.message).toMatch(/^Unknown context key maxRecieveCount \(did you mean maxReceiveCount\?\): known keys are stackName, moengageDc, /);
  });

  it('ignores feature flags, CDK keys and lookups', () => {
    const c = withKeys({
      moengageDc: '01',
      '@aws-cdk/aws-iam:minimizePolicies': true,
      'aws:cdk:bundling-stacks': [],
      'availability-zones:account=123456789012:region=us-east-1': ['us-east-1a'],
      configFile: '',
    });
    expect(c.moengageDc).toBe('01');
  });
});

describe('configFile', () => {
  const file = JSON.stringify({
    moengageDc: '04',
    queueType: 'standard',
    maxReceiveCount: 7,
    sources: { standard: { mapping: { events: ['user.updated'], customerId: 'data.id', attributes: { u_em: 'data.email' } } }, stripe: { enabled: false } },
    identityResolution: { identifiers: { moe_email: 'u_em' } },
  });

  it('reads deployment keys and the adapter part ({ sources, identityResolution }) from the file', () => {
    const c = load({ configFile: 'adapter.json' }, { '/project/adapter.json': file });
    expect(c.moengageDc).toBe('04');
    expect(c.queueType).toBe('standard');
    expect(c.maxReceiveCount).toBe(7);
    expect(c.adapter.sources.standard?.mapping?.events).toEqual(['user.updated']);
    expect(c.adapter.sources.stripe?.enabled).toBe(false);
    expect(c.adapter.identityResolution?.identifiers).toEqual({ moe_email: 'u_em' });
  });

  it('-c keys override the file', () => {
    const c = load({ configFile: 'adapter.json', moengageDc: '01', maxReceiveCount: '3' }, { '/project/adapter.json': file });
    expect(c.moengageDc).toBe('01');
    expect(c.maxReceiveCount).toBe(3);
    expect(c.queueType).toBe('standard');
  });

  it('accepts an absolute path and an `adapter` key', () => {
    const c = load({ configFile: '/etc/adapter.json' }, { '/etc/adapter.json': JSON.stringify({ moengageDc: '05', adapter: { sources: { auth0: { enabled: false } } } }) });
    expect(c.adapter.sources.auth0?.enabled).toBe(false);
  });

  it('names the file problem', () => {
    expect(errorOf(() => load({ configFile: 'missing.json' })).message).toBe('Invalid context configFile: cannot read /project/missing.json (ENOENT)');
    expect(errorOf(() => load({ configFile: 'bad.json' }, { '/project/bad.json': '{ nope' })).message).toMatch(/^Invalid context configFile: \/project\/bad\.json is not valid JSON/);
    expect(errorOf(() => load({ configFile: 'arr.json' }, { '/project/arr.json': '[]' })).message).toMatch(/must hold a JSON object/);
    expect(
      errorOf(() => load({ configFile: 'both.json' }, { '/project/both.json': JSON.stringify({ moengageDc: '01', adapter: {}, sources: {} }) })).message,
    ).toMatch(/^Invalid configuration adapter: .* has both "adapter" and top-level "sources"/);
  });

  it('rejects unknown keys (typos), naming them', () => {
    const err = errorOf(() => load({ configFile: 'typo.json' }, { '/project/typo.json': JSON.stringify({ moengageDc: '01', maxRecieveCount: 3 }) }));
    expect(err.message).toMatch(/^Invalid configuration \(root\): .*maxRecieveCount/);
  });
});

describe('deployment environment', () => {
  it('AWS_REGION wins over CDK_DEFAULT_REGION (which the CLI overwrites without AWS config)', () => {
    expect(environmentFromProcess({ AWS_REGION: 'eu-west-1', CDK_DEFAULT_REGION: 'us-east-1' })).toEqual({ region: 'eu-west-1' });
    expect(environmentFromProcess({ CDK_DEFAULT_REGION: 'us-east-1', CDK_DEFAULT_ACCOUNT: '123456789012' })).toEqual({ region: 'us-east-1', account: '123456789012' });
  });

  it('environment-agnostic when nothing is known', () => {
    expect(environmentFromProcess({})).toBeUndefined();
    expect(environmentFromProcess({ AWS_REGION: '' })).toBeUndefined();
  });
});
