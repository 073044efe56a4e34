/**
 * Test helper (not a test file): synthesizes the adapter app the way bin/app.ts does, with
 * cdk.json's feature flags and cdk-nag registered. The functions' code is the assets/ bundles
 * that the tests' globalSetup (test/global-setup.ts) builds with scripts/build.ts, as `cdk synth` does.
 */
import { readFileSync } from 'node:fs';
import { App } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { AwsSolutionsChecks } from 'cdk-nag';
import { buildAdapterApp, type BuildAdapterAppOptions, type MoEngageAdapterStack } from '../../lib/adapter-stack';

/**
 * The CDK CLI's "bundle no stack" context. Nothing is bundled at synth any more (the functions'
 * code is the prebuilt assets/), so this changes nothing for a construct; kept for the tests that
 * spread it. (bin/app.ts reads an empty list as a command that deploys nothing.)
 */
export const SKIP_BUNDLING = { 'aws:cdk:bundling-stacks': [] as string[] };

/** The "context" of cdk.json (feature flags). */
export const CDK_JSON_CONTEXT = (JSON.parse(readFileSync(new URL('../../cdk.json', import.meta.url), 'utf8')) as { context: Record<string, unknown> })
  .context;

export interface Synthesized {
  app: App;
  stack: MoEngageAdapterStack;
  template: Template;
  json: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }>; Outputs?: Record<string, { Value: unknown }> };
  /** cdk-nag AwsSolutions findings (errors and warnings) left after acknowledgements. */
  nagFindings: { rule: string; severity: string | undefined; paths: string[] }[];
  /** CDK error and warning annotations of the stack. */
  annotations: { errors: unknown[]; warnings: unknown[] };
}

/**
 * Synthesizes with the given context (on top of cdk.json's flags and `moengageDc: '01'`).
 * Template.fromStack runs the registered cdk-nag plugin: an unacknowledged nag error throws.
 */
export function synthAdapter(context: Record<string, unknown> = {}, options: BuildAdapterAppOptions = {}): Synthesized {
  const app = new App({ context: { ...CDK_JSON_CONTEXT, moengageDc: '01', ...context } });
  const stack = buildAdapterApp(app, { processEnv: {}, ...options });
  const template = Template.fromStack(stack);
  const report = new AwsSolutionsChecks(undefined, { verbose: false }).validateScope(app);
  const a = Annotations.fromStack(stack);
  return {
    app,
    stack,
    template,
    json: template.toJSON() as Synthesized['json'],
    nagFindings: report.violations.map((v) => ({ rule: v.ruleName, severity: v.severity, paths: v.violatingResources.map((r) => r.constructPath ?? '') })),
    annotations: { errors: a.findError('*', Match.anyValue()), warnings: a.findWarning('*', Match.anyValue()) },
  };
}

/** Resources of one type, by logical id. */
export function resourcesOfType(s: Synthesized, type: string): [string, Record<string, unknown>][] {
  return Object.entries(s.json.Resources)
    .filter(([, r]) => r.Type === type)
    .map(([id, r]) => [id, r.Properties ?? {}]);
}

/** The one resource of a type whose logical id starts with `prefix`. */
export function resource(s: Synthesized, type: string, prefix: string): { id: string; props: Record<string, any> } {
  const found = resourcesOfType(s, type).filter(([id]) => id.startsWith(prefix));
  if (found.length !== 1) throw new Error(`expected one ${type} starting with ${prefix}, found ${found.map(([id]) => id).join(', ') || 'none'}`);
  const [id, props] = found[0]!;
  return { id, props };
}

export interface Statement {
  Sid?: string;
  Effect: string;
  Action: string | string[];
  Resource: unknown;
}

/** Every statement of every identity policy, with the logical id of its policy. */
export function policyStatements(s: Synthesized): (Statement & { policy: string })[] {
  return resourcesOfType(s, 'AWS::IAM::Policy').flatMap(([id, p]) =>
    ((p.PolicyDocument as { Statement: Statement[] }).Statement ?? []).map((st) => ({ ...st, policy: id })),
  );
}

export function actionsOf(st: Statement): string[] {
  return Array.isArray(st.Action) ? st.Action : [st.Action];
}

export function resourcesOf(st: Statement): unknown[] {
  return Array.isArray(st.Resource) ? st.Resource : [st.Resource];
}
