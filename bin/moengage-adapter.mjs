#!/usr/bin/env node
// Bin entry of `npx --no-install moengage-adapter` (lib/tool-command.ts). In the installed package: the prebuilt CLI (dist/cli.mjs,
// `npm run build`). In a clone of the repository: the TypeScript sources through tsx (a
// devDependency), so that the tool always runs the code next to it.
import { existsSync } from 'node:fs';

// The SDK's "newer versions will need Node 22" notice is noise in an on-call tool.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
if (existsSync(new URL('./cli.ts', import.meta.url))) {
  const { register } = await import('tsx/esm/api');
  register();
  const { run } = await import('./cli.ts');
  await run();
} else {
  const { run } = await import('../dist/cli.mjs');
  await run();
}
