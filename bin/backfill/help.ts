/** `backfill --help`. */
import { TOOL_COMMAND } from '../../lib/tool-command';
import { EXIT_CODES } from '../dlq/help';
import { READER_INFO } from './readers';
import { BACKFILL_SOURCES } from './types';

const TOOL = TOOL_COMMAND;

const sources = BACKFILL_SOURCES.map((s) => {
  const i = READER_INFO[s];
  return `  ${s.padEnd(8)} ${i.env.join(', ').padEnd(40)} default --rate ${i.defaultRate}/s`;
}).join('\n');

export const BACKFILL_HELP = `Usage: ${TOOL} backfill <${BACKFILL_SOURCES.join('|')}> <queue selection> [options]

Brings the users who already exist at the provider into MoEngage: reads them from the
provider's list API, maps each one exactly as its webhook would be mapped (the same source
options: customerIdField, customAttributes, ...), and enqueues it for the sender. Each user is
versioned at the moment it was read: a webhook newer than the read wins, an older one is
dropped, a deleted user stays deleted. Delivery goes through the normal sender: MoEngage's rate
limits, retries and the DLQ apply.

Sources and their credentials (from the environment, never printed):
${sources}

Options:
  --api-url URL     another API base (a proxy, or a local emulator for a rehearsal)
  --since ISO       only objects updated since then (Stripe: created since then)
  --limit N         read at most N objects
  --dry-run         read and map, print the counts and one masked sample; enqueue nothing
                    (no queue needed, no checkpoint written)
  --rate N          provider requests per second (default: below the provider's documented limit)
  --resume          go on from the checkpoint an interrupted or failed run left
  --checkpoint FILE where the checkpoint is written (default .moengage-backfill-<source>.json)
  --config FILE     the adapter configuration the receiver runs with (a file, or inline JSON);
                    default: ADAPTER_CONFIG_JSON / ADAPTER_CONFIG, or with --local the dev
                    server's. Needed with --stack / --queue-url ('{}' for the defaults).
  --json            print a JSON summary on stdout instead of the text one

Queue selection (one of; optional with --dry-run):
  --stack NAME      the deployed stack's QueueUrl output (--region R)
  --queue-url URL   the main queue (optional --endpoint URL, --region R)
  --local           the running \`npm run dev\` (PORT, --port N)

On a terminal a progress line shows objects read, enqueued, skipped, the rate and the ETA.
Ctrl-C stops after the current page, with the checkpoint written; --resume goes on from it.

${EXIT_CODES}
`;
