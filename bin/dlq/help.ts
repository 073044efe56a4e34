/** `--help` texts of the tool and of each command. */
import { SOURCE_NAMES } from '../../functions/core/config';
import { REASON_CODES } from './entry';
import { TOOL_COMMAND } from '../../lib/tool-command';
import { DEFAULT_LIST_LIMIT } from './list';

const TOOL = TOOL_COMMAND;

const SELECTION = `Queue selection (one of):
  --stack NAME                    the deployed stack: its QueueUrl and DlqUrl outputs
                                  (region from --region R, AWS_REGION or your AWS profile)
  --queue-url URL --dlq-url URL   the main queue and its dead-letter queue;
                                  optional --endpoint URL (an emulator), --region R
  --local                         the running \`npm run dev\`, found through
                                  GET http://127.0.0.1:$PORT/_dev/status (PORT default 3000; --port N)`;

export const EXIT_CODES = `Exit codes:
  0  done
  1  the operation failed or is incomplete (some messages failed, a redrive whose messages
     came back to the DLQ, interrupted with Ctrl-C)
  2  usage error (unknown option, bad value, purge without --yes)
  3  configuration or connection error (no AWS credentials, queue or stack not found,
     access denied, no region, dev server not running)`;

const FILTERS = `  --reason CODE   only messages parked for this reason:
                  ${REASON_CODES.join(', ')}
  --source S      only messages from this source: ${SOURCE_NAMES.join(', ')}`;

export const TOOL_HELP = `Usage: ${TOOL} dlq <command> [options]

On-call tool for the adapter's dead-letter queue (DLQ): what is parked and why, and getting
it delivered after the cause is fixed.

Commands:
  list      show parked messages and their failure reasons, without consuming them
  redrive   move parked messages back to the main queue (filtered, paced, resumable)
  export    save parked messages (body and attributes) to a JSONL file, without consuming them
            (--queue main: the messages still waiting in the main queue)
  purge     delete every parked message (saves them to a JSONL file first)
            (--queue main: empty the main queue the same way, at teardown)

${SELECTION}

${EXIT_CODES}

Run \`${TOOL} dlq <command> --help\` for the options of a command.

Also: \`${TOOL} backfill <source>\` brings the users who already exist at a provider into
MoEngage (\`${TOOL} backfill --help\`).
`;

export const COMMAND_HELP = {
  list: `Usage: ${TOOL} dlq list <queue selection> [--json] [--limit N] [--reason CODE] [--source S]

Shows the parked messages, oldest failure first: age, source, event type, customer id (masked),
failure reason, HTTP status and attempts. Nothing is consumed: messages are received with a short
visibility timeout and made visible again as soon as the listing ends.

Options:
  --json          print a JSON array of {messageId, source, eventId, eventType, customerId,
                  reason, status, detail, attempts, failedAt} instead of the table.
                  The JSON is for machines: customerId is NOT masked there (the table masks it).
  --limit N       list at most N messages (default ${DEFAULT_LIST_LIMIT}; \`export\` saves them all)
${FILTERS}

In a FIFO DLQ a user's later messages stay hidden behind their earliest one until that one is
redriven or purged; the tool says so when it saw fewer messages than the queue holds.

${SELECTION}

${EXIT_CODES}
`,
  redrive: `Usage: ${TOOL} dlq redrive <queue selection> [--reason CODE] [--source S] [--dry-run] [--rate N] [--limit N] [--native]

Moves parked messages back to the main queue, where the sender delivers them again. Fix the
cause first (see docs/runbook.md). Each message is sent to the main queue with the same body
(FIFO: the same message group, a fresh deduplication id) and without the failure_* attributes,
and deleted from the DLQ only after the main queue accepted it. Interrupted (Ctrl-C, a crash,
a network failure), nothing is lost: run the same command again (at worst one message is sent
twice). Messages that do not match the filters stay in the DLQ.

Options:
${FILTERS}
  --dry-run       list what would be moved; change nothing
  --rate N        send at most N messages per second (e.g. to stay under MoEngage's rate limit)
  --limit N       move at most N messages
  --native        AWS only: start an SQS message move task (StartMessageMoveTask) instead;
                  moves everything (no --reason / --source / --limit) and keeps the failure_*
                  attributes. Emulators (npm run dev) do not have it.

Progress (moved / skipped / failed) goes to stderr; the summary, once, to stdout. Messages that
MoEngage refuses again during the run come back to the DLQ: they are not moved twice, the
summary counts them ("came back to the DLQ N") and the exit code is 1.

${SELECTION}

${EXIT_CODES}
`,
  export: `Usage: ${TOOL} dlq export <queue selection> --out FILE.jsonl [--queue dlq|main] [--reason CODE] [--source S]

Writes the parked messages to FILE, one JSON object per line: the fields of \`list --json\`
plus body (the raw message body), messageAttributes and attributes (SQS system attributes).
Nothing is consumed. FILE must not exist yet; it is created readable by you only: it holds
personal data (emails, phone numbers), so keep it private and delete it when done.

Options:
  --out FILE      the JSONL file to create (required)
  --queue Q       dlq (default) or main: the messages still waiting for delivery (reason is
                  null; --reason does not apply). In a FIFO queue a non-consuming read cannot see
                  a user's later messages: to save them all at teardown, use purge --queue main.
${FILTERS}

${SELECTION}

${EXIT_CODES}
`,
  purge: `Usage: ${TOOL} dlq purge <queue selection> --yes [--queue dlq|main] [--no-export] [--out FILE.jsonl]

Deletes every message in the DLQ (--queue main: in the main queue). Refuses without --yes (exit 2).
Unless --no-export, every message is first saved to dlq-export-<timestamp>.jsonl
(main-export-<timestamp>.jsonl) in the current directory (or --out FILE): messages are
received, appended to the file and synced to disk, and only then deleted, so nothing is deleted
that is not in the file, a FIFO queue's later messages of a user included.
With --no-export it uses SQS PurgeQueue (falling back to receive + delete where PurgeQueue fails).

Teardown (docs/deploy.md): once providers no longer send and the main queue has drained, save
and empty both queues before \`cdk destroy\`: \`purge --queue main --yes\`, then \`purge --yes\`.

Options:
  --yes           confirm: really delete
  --queue Q       dlq (default) or main
  --no-export     do not save the messages first
  --out FILE      where to save them (must not exist yet)

${SELECTION}

${EXIT_CODES}
`,
} as const;

export type CommandName = keyof typeof COMMAND_HELP;
export const COMMANDS = Object.keys(COMMAND_HELP) as CommandName[];
