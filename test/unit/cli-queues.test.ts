import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DescribeStacksCommand } from '@aws-sdk/client-cloudformation';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { main } from '../../bin/cli';
import { ConfigError } from '../../bin/dlq/errors';
import {
  isLoopback,
  LOCAL_CREDENTIALS,
  pickOutput,
  regionFromQueueUrl,
  resolveTarget,
  selectionFromArgs,
  type ResolveDeps,
} from '../../bin/dlq/queues';
import type { CfnLike, Output } from '../../bin/dlq/types';

const QURL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/adapter.fifo';
const DURL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/adapter-dlq.fifo';

function fakeCfn(respond: (stackName: string | undefined) => unknown) {
  const calls: { region?: string; stack?: string }[] = [];
  const createCfn = (config: { region?: string }): CfnLike => ({
    send: (async (cmd: unknown) => {
      if (!(cmd instanceof DescribeStacksCommand)) throw new Error('unexpected command');
      calls.push({ ...config, ...(cmd.input.StackName ? { stack: cmd.input.StackName } : {}) });
      const r = respond(cmd.input.StackName);
      if (r instanceof Error) throw r;
      return r;
    }) as CfnLike['send'],
  });
  return { createCfn, calls };
}

const noFetch = (() => {
  throw new Error('fetch must not be called');
}) as typeof fetch;

function deps(over: Partial<ResolveDeps> = {}): ResolveDeps {
  return { env: {}, fetch: noFetch, createCfn: () => ({ send: (async () => ({})) as CfnLike['send'] }), ...over };
}

describe('selectionFromArgs', () => {
  it('reads the three modes', () => {
    expect(selectionFromArgs({ stack: 'adapter-prod', region: 'eu-west-1' }, {})).toEqual({ mode: 'stack', stack: 'adapter-prod', region: 'eu-west-1' });
    expect(selectionFromArgs({ 'queue-url': QURL, 'dlq-url': DURL }, {})).toEqual({ mode: 'urls', queueUrl: QURL, dlqUrl: DURL });
    expect(selectionFromArgs({ local: true }, {})).toEqual({ mode: 'local', port: 3000 });
    expect(selectionFromArgs({ local: true }, { PORT: '4000' })).toEqual({ mode: 'local', port: 4000 });
    expect(selectionFromArgs({ local: true, port: '5000' }, { PORT: '4000' })).toEqual({ mode: 'local', port: 5000 });
  });

  it('refuses the same URL twice', () => {
    expect(() => selectionFromArgs({ 'queue-url': QURL, 'dlq-url': QURL }, {})).toThrow('--queue-url and --dlq-url are the same queue.');
  });

  it('mainOnly (the backfill): --queue-url alone is a selection; the DLQ tool still needs both', () => {
    expect(selectionFromArgs({ 'queue-url': QURL }, {}, { mainOnly: true })).toEqual({ mode: 'urls', queueUrl: QURL, dlqUrl: '' });
    expect(() => selectionFromArgs({ 'queue-url': QURL }, {})).toThrow('Give both --queue-url');
    expect(() => selectionFromArgs({}, {}, { mainOnly: true })).toThrow('Choose the queues: --stack NAME, --queue-url URL, or --local.');
  });
});

describe('helpers', () => {
  it('regionFromQueueUrl', () => {
    expect(regionFromQueueUrl(QURL)).toBe('eu-west-1');
    expect(regionFromQueueUrl('https://ap-southeast-2.queue.amazonaws.com/1/q')).toBe('ap-southeast-2');
    expect(regionFromQueueUrl('https://queue.amazonaws.com/1/q')).toBe('us-east-1');
    expect(regionFromQueueUrl('http://sqs.us-east-1.localhost:9324/000000000000/q')).toBe('us-east-1');
    expect(regionFromQueueUrl('http://127.0.0.1:9324/000000000000/q')).toBeUndefined();
  });

  it('isLoopback', () => {
    expect(isLoopback('http://127.0.0.1:9324')).toBe(true);
    expect(isLoopback('http://localhost:4566')).toBe(true);
    expect(isLoopback('http://sqs.us-east-1.localhost:4566')).toBe(true);
    expect(isLoopback('http://[::1]:4566')).toBe(true);
    expect(isLoopback('https://sqs.eu-west-1.amazonaws.com')).toBe(false);
    expect(isLoopback('https://vpce-123.sqs.eu-west-1.vpce.amazonaws.com')).toBe(false);
  });

  it('pickOutput: exact key, else a construct-prefixed one; never a DLQ output for QueueUrl', () => {
    expect(pickOutput([{ OutputKey: 'QueueUrl', OutputValue: 'a' }, { OutputKey: 'DlqUrl', OutputValue: 'b' }], 'QueueUrl')).toBe('a');
    const nested = [
      { OutputKey: 'AdapterDlqUrl5E6F7A8B', OutputValue: 'dlq' },
      { OutputKey: 'AdapterQueueUrl1A2B3C4D', OutputValue: 'main' },
      { OutputKey: 'AdapterDeadLetterQueueUrl9F9F9F9F', OutputValue: 'other' },
    ];
    expect(pickOutput(nested, 'QueueUrl')).toBe('main');
    expect(pickOutput(nested, 'DlqUrl')).toBe('dlq');
    expect(pickOutput([], 'QueueUrl')).toBeUndefined();
    expect(() =>
      pickOutput(
        [
          { OutputKey: 'AQueueUrl', OutputValue: '1' },
          { OutputKey: 'BQueueUrl', OutputValue: '2' },
        ],
        'QueueUrl',
      ),
    ).toThrow(ConfigError);
  });
});

describe('resolveTarget --stack', () => {
  it('reads QueueUrl and DlqUrl from the stack outputs, in the given region', async () => {
    const cfn = fakeCfn(() => ({ Stacks: [{ StackName: 'adapter-prod', Outputs: [{ OutputKey: 'QueueUrl', OutputValue: QURL }, { OutputKey: 'DlqUrl', OutputValue: DURL }] }] }));
    const t = await resolveTarget({ mode: 'stack', stack: 'adapter-prod' }, deps({ createCfn: cfn.createCfn, env: { AWS_REGION: 'eu-west-1' } }));
    expect(t.queues).toEqual({ queueUrl: QURL, dlqUrl: DURL });
    expect(t.sqs).toEqual({ region: 'eu-west-1' });
    expect(cfn.calls).toEqual([{ region: 'eu-west-1', stack: 'adapter-prod' }]);
  });

  it('without a region anywhere, takes the one in the queue URL for SQS', async () => {
    const cfn = fakeCfn(() => ({ Stacks: [{ Outputs: [{ OutputKey: 'QueueUrl', OutputValue: QURL }, { OutputKey: 'DlqUrl', OutputValue: DURL }] }] }));
    const t = await resolveTarget({ mode: 'stack', stack: 's' }, deps({ createCfn: cfn.createCfn }));
    expect(cfn.calls).toEqual([{ stack: 's' }]);
    expect(t.sqs).toEqual({ region: 'eu-west-1' });
  });

  it('a missing stack is one clear configuration error', async () => {
    const notFound = Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' });
    const cfn = fakeCfn(() => notFound);
    await expect(resolveTarget({ mode: 'stack', stack: 'nope', region: 'eu-west-1' }, deps({ createCfn: cfn.createCfn }))).rejects.toThrow(
      new ConfigError('Stack "nope" not found in region eu-west-1 (check the name, --region / AWS_REGION and the account).'),
    );
  });

  it('a stack without the outputs says which are missing', async () => {
    const cfn = fakeCfn(() => ({ Stacks: [{ StackStatus: 'ROLLBACK_COMPLETE', Outputs: [{ OutputKey: 'QueueUrl', OutputValue: QURL }] }] }));
    await expect(resolveTarget({ mode: 'stack', stack: 'half' }, deps({ createCfn: cfn.createCfn }))).rejects.toThrow(/^Stack "half" has no DlqUrl output \(status ROLLBACK_COMPLETE\)/);
  });

  it('access denied or no credentials on DescribeStacks are configuration errors', async () => {
    const denied = fakeCfn(() => Object.assign(new Error('not authorized to perform: cloudformation:DescribeStacks'), { name: 'AccessDenied' }));
    await expect(resolveTarget({ mode: 'stack', stack: 's' }, deps({ createCfn: denied.createCfn }))).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/^Access denied reading stack "s"/) });
    const noCreds = fakeCfn(() => Object.assign(new Error('Could not load credentials from any providers'), { name: 'CredentialsProviderError' }));
    await expect(resolveTarget({ mode: 'stack', stack: 's' }, deps({ createCfn: noCreds.createCfn }))).rejects.toMatchObject({ exitCode: 3, message: expect.stringMatching(/^No AWS credentials found/) });
  });

  it('main(): a missing stack is exit 3 with one line', async () => {
    let err = '';
    const io: Output = { out: () => undefined, err: (t) => void (err += t) };
    const cfn = fakeCfn(() => Object.assign(new Error('Stack with id nope does not exist'), { name: 'ValidationError' }));
    const code = await main(['dlq', 'list', '--stack', 'nope', '--region', 'eu-central-1'], { io, env: {}, createCfn: cfn.createCfn });
    expect(code).toBe(3);
    expect(err).toBe('error: Stack "nope" not found in region eu-central-1 (check the name, --region / AWS_REGION and the account).\n');
  });
});

describe('resolveTarget --queue-url', () => {
  it('takes the region from the URL and the default credentials', async () => {
    const t = await resolveTarget({ mode: 'urls', queueUrl: QURL, dlqUrl: DURL }, deps());
    expect(t.sqs).toEqual({ region: 'eu-west-1' });
  });

  it('with a loopback endpoint: explicit endpoint and emulator credentials unless real ones are set', async () => {
    const local = await resolveTarget({ mode: 'urls', queueUrl: 'http://sqs.us-east-1.localhost:9324/0/q', dlqUrl: 'http://sqs.us-east-1.localhost:9324/0/d', endpoint: 'http://127.0.0.1:9324' }, deps());
    expect(local.sqs).toEqual({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9324', credentials: LOCAL_CREDENTIALS });
    const withKeys = await resolveTarget(
      { mode: 'urls', queueUrl: 'http://127.0.0.1:4566/0/q', dlqUrl: 'http://127.0.0.1:4566/0/d', endpoint: 'http://127.0.0.1:4566', region: 'eu-west-1' },
      deps({ env: { AWS_ACCESS_KEY_ID: 'test', AWS_SECRET_ACCESS_KEY: 'test' } }),
    );
    expect(withKeys.sqs).toEqual({ region: 'eu-west-1', endpoint: 'http://127.0.0.1:4566' });
  });
});

describe('resolveTarget --local', () => {
  let server: Server;
  let port: number;
  let answer: { status: number; body: string };

  beforeAll(async () => {
    server = createServer((req, res) => {
      res.statusCode = req.url === '/_dev/status' ? answer.status : 404;
      res.end(answer.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    port = (server.address() as AddressInfo).port;
  });
  afterAll(async () => {
    await new Promise<void>((r) => server.close(() => r()));
  });

  const local = () => resolveTarget({ mode: 'local', port }, deps({ fetch: globalThis.fetch }));

  it('uses the status: queue URLs, the SQS endpoint, us-east-1 and emulator credentials', async () => {
    answer = { status: 200, body: JSON.stringify({ queueUrl: 'http://sqs.us-east-1.localhost:9324/0/q.fifo', dlqUrl: 'http://sqs.us-east-1.localhost:9324/0/d.fifo', sqsEndpoint: 'http://127.0.0.1:9324', moengageBaseUrl: 'x' }) };
    const t = await local();
    expect(t.queues).toEqual({ queueUrl: 'http://sqs.us-east-1.localhost:9324/0/q.fifo', dlqUrl: 'http://sqs.us-east-1.localhost:9324/0/d.fifo' });
    expect(t.sqs).toEqual({ region: 'us-east-1', endpoint: 'http://127.0.0.1:9324', credentials: LOCAL_CREDENTIALS });
  });

  it('another server on the port, or an incomplete status: one clear configuration error', async () => {
    answer = { status: 404, body: 'not found' };
    await expect(local()).rejects.toThrow(new ConfigError(`The server on http://127.0.0.1:${port} answered HTTP 404 for /_dev/status: is it \`npm run dev\` of this adapter?`));
    answer = { status: 200, body: '<html>' };
    await expect(local()).rejects.toThrow(/did not answer \/_dev\/status with JSON/);
    answer = { status: 200, body: JSON.stringify({ queueUrl: 'q' }) };
    await expect(local()).rejects.toThrow(new ConfigError(`The dev server on http://127.0.0.1:${port} reports no dlqUrl, sqsEndpoint in /_dev/status.`));
  });
});
