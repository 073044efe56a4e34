// What the two Node.js 24 harnesses that run a deployed bundle as Lambda does share
// (test/deployed/harness.mjs: one invocation per process; bench/lambda-container.mjs: a
// long-lived execution environment). Plain JavaScript: it runs before any TypeScript loader.
import { randomUUID } from 'node:crypto';
import dns from 'node:dns';

/**
 * The local SQS (fauxqs) names its queues http://sqs.<region>.localhost:<port>/...: resolve
 * *.localhost to the loopback address, as RFC 6761 resolvers do (this machine's resolver does not).
 */
export function resolveLocalhostNames() {
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
}

/** The context object the Node.js runtime passes a handler, for an invocation that must end by `deadline` (epoch ms). */
export function lambdaContext(deadline, memoryDefaultMb) {
  const name = process.env.AWS_LAMBDA_FUNCTION_NAME ?? 'function';
  return {
    callbackWaitsForEmptyEventLoop: true,
    functionName: name,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:${process.env.AWS_REGION}:123456789012:function:${name}`,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE ?? memoryDefaultMb,
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${name}`,
    logStreamName: `2026/01/01/[$LATEST]${randomUUID().replaceAll('-', '')}`,
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
  };
}
