#!/usr/bin/env node
// Bin entry of `npx --no-install moengage-adapter` (lib/tool-command.ts): runs the TypeScript CLI through tsx (a runtime dependency).
import { register } from 'tsx/esm/api';

// The SDK's "newer versions will need Node 22" notice is noise in an on-call tool.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
register();
const { run } = await import('./cli.ts');
await run();
