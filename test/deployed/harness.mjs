// Runs one invocation of a deployed Lambda bundle the way the Node.js runtime does: import the
// module (INIT), call `handler(event, context)` (INVOKE). Plain JavaScript, run by a fresh
// Node.js 24 process with the function's environment (test/deployed/bundles.test.ts).
//
//   node harness.mjs <bundle index.mjs> <event.json> <result.json> <timeout ms>
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { lambdaContext, resolveLocalhostNames } from '../../scripts/lambda-runtime.mjs';

resolveLocalhostNames();

const [bundle, eventFile, resultFile, timeoutMs] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const deadline = Date.now() + Number(timeoutMs);
const context = lambdaContext(deadline, '256');
let outcome;
try {
  outcome = { result: (await handler(event, context)) ?? null };
} catch (err) {
  outcome = { error: { name: err?.name, message: err?.message, stack: err?.stack } };
}
writeFileSync(resultFile, JSON.stringify(outcome));
// Lambda freezes the process here; the SDK's keep-alive sockets would otherwise hold it open.
process.exit(0);
