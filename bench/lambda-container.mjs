// A long-lived Lambda execution environment for one deployed bundle (bench/lambda-share.ts):
// INIT once (import the module), then one invocation at a time, as Lambda runs a container.
// Plain JavaScript, run by Node.js 24 (Lambda's nodejs24.x), possibly inside a CPU-capped cgroup.
//
//   node lambda-container.mjs <bundle index.mjs>
//
// Protocol on file descriptor 3 (stdout and stderr are the function's logs, as on Lambda):
// in on stdin, one JSON line per invocation: {"event": ..., "timeoutMs": N};
// out on fd 3, JSON lines: {"type":"init","ms","cpuMs"} once, then {"type":"invoke","ms","cpuMs","result"|"error"}.
import { writeSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { pathToFileURL } from 'node:url';
import { lambdaContext, resolveLocalhostNames } from '../scripts/lambda-runtime.mjs';

resolveLocalhostNames();

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

for await (const line of createInterface({ input: process.stdin })) {
  if (line.trim() === '') continue;
  const { event, timeoutMs } = JSON.parse(line);
  const start = performance.now();
  const cpu = process.cpuUsage();
  const deadline = Date.now() + timeoutMs;
  const context = lambdaContext(deadline, '128');
  let outcome;
  try {
    outcome = { result: (await handler(event, context)) ?? null };
  } catch (err) {
    outcome = { error: { name: err?.name, message: err?.message } };
  }
  out({ type: 'invoke', ms: performance.now() - start, cpuMs: cpuMs(cpu), ...outcome });
}
process.exit(0);
