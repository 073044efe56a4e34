import { describe, expect, it } from 'vitest';
import { EXIT, toCliError, UsageError } from '../../bin/dlq/errors';

const awsError = (name: string, message: string, extra: Record<string, unknown> = {}) => Object.assign(new Error(message), { name, ...extra });

describe('toCliError', () => {
  it('no credentials -> exit 3, tells how to fix', () => {
    const e = toCliError(awsError('CredentialsProviderError', 'Could not load credentials from any providers'));
    expect(e.exitCode).toBe(EXIT.config);
    expect(e.message).toMatch(/^No AWS credentials found: set AWS_PROFILE/);
  });

  it('queue not found by name or by query-compatible code -> exit 3 naming the queue', () => {
    for (const err of [
      awsError('QueueDoesNotExist', 'The specified queue does not exist.'),
      awsError('Error', 'x', { Code: 'AWS.SimpleQueueService.NonExistentQueue' }),
      awsError('SomethingElse', 'x', { __type: 'com.amazonaws.sqs#QueueDoesNotExist' }),
    ]) {
      const e = toCliError(err, { queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q' });
      expect(e.exitCode).toBe(EXIT.config);
      expect(e.message).toBe('Queue not found: https://sqs.eu-west-1.amazonaws.com/1/q does not exist (check the URL, the region and the account).');
    }
  });

  it('access denied -> exit 3', () => {
    const e = toCliError(awsError('AccessDenied', 'User: arn:aws:iam::1:user/x is not authorized'), { doing: 'reading the DLQ' });
    expect(e.exitCode).toBe(EXIT.config);
    expect(e.message).toBe('Access denied reading the DLQ (AccessDenied): the current AWS identity is not allowed to do this.');
    expect(toCliError(awsError('ExpiredToken', 'The security token included in the request is expired')).exitCode).toBe(EXIT.config);
  });

  it('no region and unreachable endpoints -> exit 3', () => {
    expect(toCliError(new Error('Region is missing')).message).toBe('No AWS region: pass --region or set AWS_REGION.');
    const refused = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:9324'), { code: 'ECONNREFUSED' });
    const e = toCliError(refused, { endpoint: 'http://127.0.0.1:9324' });
    expect(e.exitCode).toBe(EXIT.config);
    expect(e.message).toBe('Cannot reach http://127.0.0.1:9324: ECONNREFUSED.');
    const wrapped = new TypeError('fetch failed', { cause: refused });
    expect(toCliError(wrapped).exitCode).toBe(EXIT.config);
  });

  it('anything else -> exit 1 with its first line only', () => {
    const e = toCliError(awsError('InternalError', 'boom\n    at stack frame'), { doing: 'sending to the main queue' });
    expect(e.exitCode).toBe(EXIT.failed);
    expect(e.message).toBe('Failed sending to the main queue: InternalError: boom');
    expect(e.message).not.toContain('\n');
  });

  it('keeps CliErrors as they are', () => {
    const u = new UsageError('bad');
    expect(toCliError(u)).toBe(u);
  });
});
