#!/usr/bin/env node
/**
 * The CDK app (`cdk.json`: "npx tsx bin/app.ts").
 *
 *   npx cdk bootstrap aws://ACCOUNT_ID/REGION          (no data center needed)
 *   npx cdk synth  -c moengageDc=01
 *   npx cdk deploy -c moengageDc=01 -c alarmEmail=oncall@example.com
 *
 * A configuration problem prints one line per problem (naming the key) and exits 1, without
 * a stack trace. Set CDK_DEBUG=true to see stack traces of unexpected errors.
 */
import { App } from 'aws-cdk-lib';
import { buildCdkApp } from '../lib/adapter-stack';
import { AppConfigError } from '../lib/app-config';

function main(): void {
  // Synthesized explicitly below; no automatic synthesis of an empty app when configuration fails.
  const app = new App({ autoSynth: false });
  // Commands that deploy nothing (cdk bootstrap, destroy, list) get through without moengageDc.
  buildCdkApp(app);
  app.synth();
}

try {
  main();
} catch (err) {
  const debug = process.env.CDK_DEBUG === 'true' || process.env.CDK_DEBUG === '1';
  if (err instanceof AppConfigError || !debug) {
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
  } else {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  }
  process.exitCode = 1;
}
