/**
 * Types of the MoEngage Track User payload (../shared/seeds/moengage-user-api.txt).
 * The builder lives in payload-builder.ts, the validator in payload-validator.ts.
 */

/** Standard user attribute keys of the MoEngage User API. */
export const STANDARD_ATTRIBUTE_KEYS = ['u_em', 'u_mb', 'u_fn', 'u_ln', 'u_n', 'u_gd', 'u_bd', 'uid'] as const;
export type StandardAttributeKey = (typeof STANDARD_ATTRIBUTE_KEYS)[number];

export type AttributePrimitive = string | number | boolean;
export type AttributeValue = AttributePrimitive | AttributePrimitive[];

export interface Platform {
  platform: 'ANDROID' | 'iOS' | 'web';
  active: 'true' | 'false';
}

/** The body of `POST /v1/customer/{workspaceId}`. */
export interface CustomerPayload {
  type: 'customer';
  /** Required unless identity resolution is enabled and an identifier attribute is present. */
  customer_id?: string;
  update_existing_only?: boolean;
  attributes?: Record<string, AttributeValue | Platform[] | Record<string, AttributePrimitive[]>>;
}

/** What a source mapper hands the builder. Values are raw: the builder normalizes them. */
export interface CustomerInput {
  customerId?: string | number;
  /** Standard attributes (u_em, u_mb, ...); undefined / null / '' values are skipped. */
  standard?: Partial<Record<StandardAttributeKey, unknown>>;
  /** Custom attributes, possibly nested: flattened by the documented rule (see payload-builder.ts). */
  custom?: Record<string, unknown>;
  /** Identity-resolution identifiers (moe_email, moe_mobile, ...) and their values. */
  identifiers?: Record<string, unknown>;
  updateExistingOnly?: boolean;
  platforms?: Platform[];
  addToArray?: Record<string, unknown>;
  removeFromArray?: Record<string, unknown>;
  /** True for a create event: allows u_l_a / cr_t, which MoEngage only accepts on create. */
  isCreate?: boolean;
}

export interface PayloadRules {
  /** Identifier attribute names the workspace has activated for identity resolution (e.g. moe_email). */
  identityIdentifiers?: readonly string[];
}

export type DropReason =
  | 'reserved_keyword'
  | 'moe_prefix'
  | 'invalid_name'
  | 'unsupported_type'
  | 'too_many_values'
  | 'mixed_array_types'
  | 'create_only'
  | 'too_deep';

export interface DroppedAttribute {
  name: string;
  reason: DropReason;
}

export type PayloadResult =
  | { ok: true; payload: CustomerPayload; dropped: DroppedAttribute[] }
  | { ok: false; field: string; message: string };

/** Platforms a Create Event action may name (MoEngage also accepts `unknown`; the adapter leaves the field out instead). */
export const EVENT_PLATFORMS = ['ANDROID', 'iOS', 'web'] as const;
export type EventPlatform = (typeof EVENT_PLATFORMS)[number];

/** One action of a Create Event call: a MoEngage event with its attributes and its time. */
export interface EventAction {
  /** The MoEngage event name, e.g. `Signed Up`. */
  action: string;
  attributes?: Record<string, AttributePrimitive>;
  /** UTC time of the event, epoch seconds (MoEngage refuses events dated in the future). */
  current_time: number;
  /** Left out where the source cannot tell. */
  platform?: EventPlatform;
}

/** The body of `POST /v1/event/{workspaceId}` (Create Event), also a Bulk Import element. */
export interface EventPayload {
  type: 'event';
  customer_id: string;
  actions: EventAction[];
}

/** A Bulk Import element: a user's attributes or a user's events. */
export type BulkElement = CustomerPayload | EventPayload;
