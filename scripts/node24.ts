/**
 * The Node.js 24 binary (Lambda's nodejs24.x runtime) for running the deployed bundles on the
 * deployed Node version when this machine runs another: the `node` package of the npm registry
 * serves official binaries (`npx -y -p node@24`). NODE24_BIN overrides the lookup.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

let cached: Promise<string> | undefined;

export function node24Binary(): Promise<string> {
  cached ??= (async () => {
    if (process.env.NODE24_BIN) return process.env.NODE24_BIN;
    if (process.versions.node.split('.')[0] === '24') return process.execPath;
    const { stdout } = await promisify(execFile)('npx', ['-y', '-p', 'node@24', 'node', '-p', 'process.execPath'], {
      timeout: 300_000,
      env: { ...process.env, npm_config_update_notifier: 'false' },
    });
    const path = stdout.trim().split('\n').pop() ?? '';
    if (!path) throw new Error('npx -p node@24 printed no path');
    return path;
  })();
  return cached;
}
