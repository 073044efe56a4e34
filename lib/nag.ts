/**
 * cdk-nag (v3: a CDK policy-validation plugin) and the adapter's acknowledgements. Every
 * acknowledgement is scoped to one construct and carries a concrete reason.
 */
import { Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import type { IConstruct } from 'constructs';

/** Why each acknowledged finding is acceptable here. */
export const NAG_REASONS = {
  secretRotation:
    'The secret holds credentials issued by a third party (MoEngage API key, provider webhook signing secrets); they are rotated in the issuer\'s console and then put here, a rotation Lambda cannot create them.',
  xray: 'X-Ray PutTraceSegments/PutTelemetryRecords do not support resource-level permissions; "*" is the only valid resource (added by Lambda active tracing).',
  signatureAuth:
    'Webhook providers cannot sign requests with IAM, JWT or Lambda authorizers: every request is authenticated inside the receiver by the provider\'s HMAC signature or bearer token, and rejected with 401 otherwise.',
} as const;

/** Acknowledges one finding (e.g. `AwsSolutions-IAM5[Resource::*]`) on one construct and its children. */
export function acknowledge(scope: IConstruct, id: string, reason: string): void {
  Validations.of(scope).acknowledge({ id, reason });
}

/** Registers the AwsSolutions pack on the app (or stage): synth fails on any unacknowledged error. */
export function applyNagChecks(scope: IConstruct, verbose = true): AwsSolutionsChecks {
  const checks = new AwsSolutionsChecks(scope, { verbose });
  Validations.of(scope).addPlugins(checks);
  return checks;
}
