/**
 * The interface every webhook source implements (one file per provider).
 * Pure: no AWS, no I/O. The receiver handler wires it to events and clients.
 */
import type { IdentityResolutionConfig, SourceName, StandardSourceOptions } from '../core/config';
import type { CustomerPayload, DroppedAttribute } from '../core/moengage/types';

/** An HTTP request as the receiver saw it. Header names are lower-case. */
export interface WebhookRequest {
  method: string;
  path: string;
  headers: Readonly<Record<string, string | undefined>>;
  /** The exact bytes the provider signed (base64-decoded when the event said so). */
  rawBody: Buffer;
}

export interface SourceContext {
  /** Injected clock. */
  now: Date;
  /** This source's options with defaults applied. */
  options: StandardSourceOptions;
  identityResolution?: IdentityResolutionConfig;
}

export type Verification = { ok: true } | { ok: false; message: string };

export interface ParsedEvent {
  /** The provider's unique event id: the FIFO deduplication key. */
  id: string;
  /** The provider's event type / topic, e.g. `user.created`, `customers/update`. */
  type: string;
  /** When the provider says the event happened (epoch milliseconds, an integer), if it says. */
  occurredAtMs?: number;
  /**
   * The event's version (core/version.ts `versionKey`): when the provider wrote this state of
   * the user, tie-broken by the event id. Undefined when the event carries no usable version.
   */
  version?: string;
  /** The parsed JSON body. */
  body: unknown;
}

export type Parsed = { ok: true; event: ParsedEvent } | { ok: false; message: string };

export type Mapped =
  | {
      kind: 'payload';
      payload: CustomerPayload;
      /** The user identity used as FIFO MessageGroupId: customer_id, else the identity-resolution identifier. */
      customerKey: string;
      /** Custom attributes dropped by the naming rule (counted in a metric). */
      dropped: DroppedAttribute[];
      /** The event carries only changed attributes (Segment identify, a `partial` standard mapping). */
      partial?: boolean;
    }
  | {
      /** A deletion at the provider, with `deleteUsers` on: one MoEngage Delete User call. */
      kind: 'delete';
      customerId: string;
      /** As for a payload: the user identity behind the FIFO MessageGroupId and the state key. */
      customerKey: string;
    }
  | { kind: 'ignored'; reason: string }
  | { kind: 'rejected'; field: string; message: string };

export interface WebhookSource {
  readonly name: SourceName;
  /** Default signature timestamp tolerance in seconds; undefined where the provider signs no timestamp. */
  readonly defaultToleranceSeconds?: number;
  /**
   * Verifies the signature / token against the raw body. `secrets` holds every configured
   * secret (rotation: any one may match). Constant-time comparisons only. Never throws.
   */
  verify(req: WebhookRequest, secrets: readonly string[], ctx: SourceContext): Verification;
  /**
   * Parses the body into an event (id, type, times). Never throws: malformed input is
   * `ok: false` (400). `ctx` carries the source's options (e.g. the standard mapping's eventTypePath).
   */
  parse(req: WebhookRequest, ctx?: SourceContext): Parsed;
  /** Acts on or ignores the event type; maps an acted-on event to a MoEngage payload. Never throws. */
  map(event: ParsedEvent, ctx: SourceContext): Mapped;
}
