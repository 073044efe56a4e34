// A long-lived Lambda execution environment for one deployed bundle (bench/lambda-share.ts):
// INIT once (import the module), then one invocation at a time, as Lambda runs a container.
// Plain JavaScript, run by Node.js 24 (Lambda's nodejs24.x), possibly inside a CPU-capped cgroup.
//
//   node lambda-container.mjs <bundle index.mjs>
//
// Protocol on file descriptor 3 (stdout and stderr are the function's logs, as on Lambda):
// in on stdin, one JSON line per invocation: {"event": ..., "timeoutMs": N};
// out on fd 3, JSON lines: {"type":"init","ms","cpuMs"} once, then {"type":"invoke","ms","cpuMs","result"|"error"}.
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';

// The local SQS (fauxqs) names its queues http://sqs.<region>.localhost:<port>/...: resolve
// *.localhost to the loopback address, as RFC 6761 resolvers do.
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

const out = (value) => writeSync(3, `${JSON.stringify(value)}\n`);
const cpuMs = (since) => {
  const d = process.cpuUsage(since);
  return (d.user + d.system) / 1000;
};

const [bundle] = process.argv.slice(2);
const initStart = performance.now();
const initCpu = process.cpuUsage();
const { handler } = await import(pathToFileURL(bundle).href);
out({ type: 'init', ms: performance.now() - initStart, cpuMs: cpuMs(initCpu) });

const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { event, timeoutMs } = JSON.parse(line);
  const start = performance.now();
  const cpu = process.cpuUsage();
  const deadline = Date.now() + timeoutMs;
  const context = {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? '128',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
  let outcome;
  try {
    outcome = { result: (await handler(event, context)) ?? null };
  } catch (err) {
    outcome = { error: { name: err?.name, message: err?.message } };
  }
  out({ type: 'invoke', ms: performance.now() - start, cpuMs: cpuMs(cpu), ...outcome });
}
process.exit(0);
