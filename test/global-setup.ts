/**
 * vitest globalSetup: bundles the Lambdas into assets/ once per run, with scripts/build.ts (the
 * one bundling path, also `npm run build` and cdk.json's app), so that the CDK tests synthesize,
 * and the deployed-bundle tests run, exactly the code that deploys.
 */
import { buildAssets } from '../scripts/build';

export default async function setup(): Promise<void> {
  await buildAssets();
}
