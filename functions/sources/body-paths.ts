/**
 * Which `customerIdField` dot paths can exist in a source's webhook body, so that a path that
 * never can fails at synth and at start-up instead of answering 422 to every webhook later.
 *
 * Conservative on purpose: only the fixed envelope of a provider is described (Svix/Clerk,
 * Stripe and WorkOS events, Auth0's CloudEvents), never the user object inside it, whose fields
 * (metadata, custom attributes) are the account's own. Shopify and Segment send the resource
 * itself at the top, and `standard` bodies are whatever the sender chose: any path may exist.
 */
import type { AdapterConfig, SourceName } from '../core/config';
import { closestKey } from '../core/suggest';

/**
 * `value`: a string, number or boolean (nothing below it); `object`: an object whose fields are
 * not known here (anything below it, but it is not an id itself); or a closed object: exactly
 * these keys, plus any key matching `other`.
 */
type Node = 'value' | 'object' | Closed;
interface Closed {
  keys: Readonly<Record<string, Node>>;
  /** Keys besides `keys` that may appear (CloudEvents extension attributes), each an unknown value. */
  other?: RegExp;
}

interface BodyShape {
  top: Closed;
  /** Where the user object sits: a path missing it is suggested with it. */
  userRoot: string;
}

const SHAPES: Partial<Record<SourceName, BodyShape>> = {
  // Svix envelope: https://clerk.com/docs/webhooks/overview (payload structure).
  clerk: {
    top: { keys: { data: 'object', object: 'value', type: 'value', timestamp: 'value', instance_id: 'value', event_attributes: 'object' } },
    userRoot: 'data',
  },
  // Stripe Event object: https://docs.stripe.com/api/events/object
  stripe: {
    top: {
      keys: {
        id: 'value',
        object: 'value',
        account: 'value',
        api_version: 'value',
        context: 'value',
        created: 'value',
        data: { keys: { object: 'object', previous_attributes: 'object' } },
        livemode: 'value',
        pending_webhooks: 'value',
        request: 'object',
        type: 'value',
      },
    },
    userRoot: 'data.object',
  },
  // WorkOS event: https://workos.com/docs/events (id, event, data, created_at; context on newer events).
  workos: {
    top: { keys: { id: 'value', event: 'value', data: 'object', created_at: 'value', context: 'object', object: 'value' } },
    userRoot: 'data',
  },
  // Auth0 Event Streams deliver CloudEvents 1.0: its context attributes, `data`, and extension
  // attributes (lower-case letters and digits only, e.g. a0tenant, a0stream).
  auth0: {
    top: {
      keys: {
        specversion: 'value',
        type: 'value',
        source: 'value',
        id: 'value',
        time: 'value',
        subject: 'value',
        datacontenttype: 'value',
        dataschema: 'value',
        data: 'object',
      },
      other: /^[a-z0-9]{1,20}$/,
    },
    userRoot: 'data.object',
  },
};

/** Why `path` cannot hold a customer id in a `source` webhook, or undefined when it may. */
export function customerIdPathProblem(source: SourceName, path: string): string | undefined {
  const shape = SHAPES[source];
  if (!shape || path === 'email' || path === 'phone') return undefined;
  const segments = path.split('.');
  let node: Node = shape.top;
  for (let i = 0; i < segments.length; i++) {
    const segment = segments[i]!;
    const here = segments.slice(0, i).join('.');
    if (node === 'object') return undefined;
    if (node === 'value') return `${source} webhooks carry a single value at ${here}: no "${segments.slice(i).join('.')}" below it`;
    const closed: Closed = node;
    const next: Node | undefined = Object.prototype.hasOwnProperty.call(closed.keys, segment)
      ? closed.keys[segment]
      : closed.other?.test(segment)
        ? 'value'
        : undefined;
    if (next === undefined) {
      const guess = closestKey(segment, Object.keys(closed.keys));
      const hint = guess ? [here, guess, ...segments.slice(i + 1)].filter(Boolean).join('.') : `${shape.userRoot}.${path}`;
      return `${source} webhooks have no ${[here, segment].filter(Boolean).join('.')} (${here ? `${here} holds` : 'the body holds'} ${Object.keys(closed.keys).join(', ')}); did you mean ${hint}?`;
    }
    node = next;
  }
  if (node !== 'value') return `${path} is an object in ${source} webhooks, not a customer id: name a field inside it, e.g. ${shape.userRoot}.id`;
  return undefined;
}

/** Every configured customerIdField that cannot exist, one line each, naming its key path. */
export function customerIdFieldProblems(config: AdapterConfig, prefix = ''): string[] {
  const problems: string[] = [];
  for (const [source, options] of Object.entries(config.sources) as [SourceName, { customerIdField?: string } | undefined][]) {
    const field = options?.customerIdField;
    if (field === undefined) continue;
    const problem = customerIdPathProblem(source, field);
    if (problem) problems.push(`${[prefix, 'sources', source, 'customerIdField'].filter(Boolean).join('.')}: "${field}" cannot exist: ${problem}`);
  }
  return problems;
}
