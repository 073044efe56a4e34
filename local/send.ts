/**
 * `npm run send -- <source> [--type TYPE] [--email ADDR] [--updated-at TIME] [--port N]`: builds a realistic sample webhook of
 * that source, signs it the way the provider does with the secret `npm run dev` uses for it
 * (the configured *_WEBHOOK_SECRET / AUTH0_WEBHOOK_TOKEN, else the fixed development secret),
 * posts it to http://127.0.0.1:PORT/webhooks/<source> and prints the answer.
 */
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { isSourceName, SOURCE_NAMES, type SourceName } from '../functions/core/config';
import { buildSignedSample, DEFAULT_SAMPLE_TYPES, DELETE_SAMPLE_TYPES, effectiveSecret, postSignedRequest, type PostResult } from './samples';

export const SEND_USAGE = `usage: npm run send -- <source> [--type TYPE] [--email ADDR] [--updated-at TIME] [--port N] [--host H]

  source        one of: ${SOURCE_NAMES.join(', ')}
  --type        the provider's event type (default: ${SOURCE_NAMES.map((s) => `${s} ${DEFAULT_SAMPLE_TYPES[s]}`).join(', ')});
                deletions (with deleteUsers): ${SOURCE_NAMES.filter((s) => DELETE_SAMPLE_TYPES[s]).map((s) => `${s} ${DELETE_SAMPLE_TYPES[s]}`).join(', ')}
  --email       the sample user's email address (default jane.doe@example.com)
  --updated-at  when the provider wrote this state of the user (ISO 8601; default now): an
                earlier time sends a late, older event, as a provider's retry does
  --port        the port of \`npm run dev\` (default: PORT, else 3000)
  --host        default 127.0.0.1

The event is signed with the source's secret from the environment, else its development secret.`;

export interface SendArgs {
  source: SourceName;
  type?: string;
  email?: string;
  updatedAt?: Date;
  port: number;
  host: string;
}

export function parseSendArgs(argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SendArgs | { help: true } | { error: string } {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      options: {
        type: { type: 'string' },
        email: { type: 'string' },
        'updated-at': { type: 'string' },
        port: { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    return { error: (err as Error).message };
  }
  if (parsed.values.help) return { help: true };
  const source = parsed.positionals[0];
  if (source === undefined) return { error: 'name a source' };
  if (!isSourceName(source)) return { error: `unknown source "${source}"` };
  if (parsed.positionals.length > 1) return { error: `unexpected argument "${parsed.positionals[1]}"` };
  const portText = parsed.values.port ?? env.PORT ?? '3000';
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) return { error: `invalid port "${portText}"` };
  const type = parsed.values.type;
  if (type !== undefined && type.trim() === '') return { error: '--type needs a value' };
  const email = parsed.values.email;
  if (email !== undefined && email.trim() === '') return { error: '--email needs a value' };
  const updatedAtText = parsed.values['updated-at'];
  let updatedAt: Date | undefined;
  if (updatedAtText !== undefined) {
    updatedAt = new Date(updatedAtText);
    if (!/^\d{4}-\d{2}-\d{2}T/.test(updatedAtText) || Number.isNaN(updatedAt.getTime())) {
      return { error: `--updated-at must be an ISO 8601 date-time such as 2026-01-01T10:00:00Z (got "${updatedAtText}")` };
    }
  }
  return {
    source,
    port,
    host: parsed.values.host ?? '127.0.0.1',
    ...(type !== undefined ? { type } : {}),
    ...(email !== undefined ? { email } : {}),
    ...(updatedAt !== undefined ? { updatedAt } : {}),
  };
}

export async function send(args: SendArgs, env: NodeJS.ProcessEnv = process.env, fetchImpl: typeof fetch = fetch): Promise<PostResult & { url: string; eventId: string; type: string; secretFromEnv: boolean }> {
  const { secret, fromEnv } = effectiveSecret(args.source, env);
  const request = buildSignedSample(args.source, {
    secret,
    ...(args.type !== undefined ? { type: args.type } : {}),
    ...(args.email !== undefined ? { user: { email: args.email } } : {}),
    ...(args.updatedAt !== undefined ? { updatedAt: args.updatedAt } : {}),
  });
  const base = `http://${args.host}:${args.port}`;
  const result = await postSignedRequest(base, request, fetchImpl);
  return { ...result, url: `${base}${request.path}`, eventId: request.eventId, type: request.type, secretFromEnv: fromEnv };
}

async function main(): Promise<number> {
  const args = parseSendArgs(process.argv.slice(2));
  if ('help' in args) {
    console.log(SEND_USAGE);
    return 0;
  }
  if ('error' in args) {
    console.error(`${args.error}\n\n${SEND_USAGE}`);
    return 2;
  }
  try {
    const r = await send(args);
    console.log(`POST ${r.url}  (${args.source} ${r.type}, event ${r.eventId}, ${r.secretFromEnv ? 'secret from the environment' : 'development secret'})`);
    console.log(`${r.status}`);
    let shown = r.body;
    try {
      shown = JSON.stringify(JSON.parse(r.body), null, 2);
    } catch {
      // not JSON: print as is
    }
    if (shown) console.log(shown);
    return r.status >= 200 && r.status < 300 ? 0 : 1;
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause;
    if (cause?.code === 'ECONNREFUSED') {
      console.error(`nothing is listening on http://${args.host}:${args.port}: start it with \`npm run dev\` (or pass --port)`);
    } else {
      console.error(`request failed: ${(err as Error).message}`);
    }
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}
