/**
 * What Lambda's Node.js 24 runtime sets in a function's environment, with local credentials for
 * the emulators: the environment the Node 24 harnesses run a deployed bundle in
 * (test/deployed/bundles.test.ts, bench/lambda-share.ts), before the function's own variables.
 */
export function lambdaEnvironment(options: { region: string; functionName: string; memoryMb: number; taskRoot?: string }): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    AWS_REGION: options.region,
    AWS_DEFAULT_REGION: options.region,
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SESSION_TOKEN: 'local',
    AWS_EXECUTION_ENV: 'AWS_Lambda_nodejs24.x',
    AWS_LAMBDA_FUNCTION_NAME: options.functionName,
    AWS_LAMBDA_FUNCTION_VERSION: '$LATEST',
    AWS_LAMBDA_FUNCTION_MEMORY_SIZE: String(options.memoryMb),
    AWS_LAMBDA_INITIALIZATION_TYPE: 'on-demand',
    ...(options.taskRoot ? { LAMBDA_TASK_ROOT: options.taskRoot } : {}),
    TZ: ':UTC',
  };
}
