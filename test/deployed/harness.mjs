// Runs one invocation of a deployed Lambda bundle the way the Node.js runtime does: import the
// module (INIT), call `handler(event, context)` (INVOKE). Plain JavaScript, run by a fresh
// Node.js 24 process with the function's environment (test/deployed/bundles.test.ts).
//
//   node harness.mjs <bundle index.mjs> <event.json> <result.json> <timeout ms>
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import { readFileSync, writeFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';

// The local SQS (fauxqs) names its queues http://sqs.<region>.localhost:<port>/...: resolve
// *.localhost to the loopback address, as RFC 6761 resolvers do (this machine's resolver does not).
const lookup = dns.lookup;
dns.lookup = (hostname, options, callback) => {
  if (typeof hostname === 'string' && hostname.endsWith('.localhost')) {
    const cb = typeof options === 'function' ? options : callback;
    const all = typeof options === 'object' && options?.all;
    process.nextTick(() => (all ? cb(null, [{ address: '127.0.0.1', family: 4 }]) : cb(null, '127.0.0.1', 4)));
    return;
  }
  return lookup.call(dns, hostname, options, callback);
};

const [bundle, eventFile, resultFile, timeoutMs] = process.argv.slice(2);
const { handler } = await import(pathToFileURL(bundle).href);
const event = JSON.parse(readFileSync(eventFile, 'utf8'));
const deadline = Date.now() + Number(timeoutMs);
const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
const context = {
  callbackWaitsForEmptyEventLoop: true,
  functionName: name,
  functionVersion: '$LATEST',
  invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${name}`,
  memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '256',
  awsRequestId: randomUUID(),
  logGroupName: `/aws/lambda/${name}`,
  logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
  getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
};
let outcome;
try {
  outcome = { result: (await handler(event, context)) ?? null };
} catch (err) {
  outcome = { error: { name: err?.name, message: err?.message, stack: err?.stack } };
}
writeFileSync(resultFile, JSON.stringify(outcome));
// Lambda freezes the process here; the SDK's keep-alive sockets would otherwise hold it open.
process.exit(0);
