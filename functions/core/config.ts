/**
 * Adapter configuration shared by the receiver Lambda, the local run
 * (`ADAPTER_CONFIG`) and the CDK app (context `adapter`). Pure: zod only.
 */
import * as z from 'zod';
import { STANDARD_ATTRIBUTE_KEYS } from './moengage/types';

export const SOURCE_NAMES = ['clerk', 'stripe', 'shopify', 'workos', 'auth0', 'segment', 'standard'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export function isSourceName(value: string): value is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(value);
}

/** A dot path into the provider's JSON body, e.g. `data.object.id` or `data.email_addresses.0.email_address`. */
const dotPath = z
  .string()
  .min(1, 'must be a non-empty dot path such as "data.id"')
  .regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path such as "data.id" (no spaces, no empty segments)');

const primitive = z.union([z.string(), z.number(), z.boolean()]);

/**
 * Declarative mapping of the `standard` source (any Standard Webhooks sender).
 * Paths are dot paths into the webhook's JSON body.
 */
export const standardMappingSchema = z
  .object({
    /** Event types (the body's `type`, or `eventTypePath`) that are acted on; others are ignored with 200. */
    events: z.array(z.string().min(1)).min(1, 'list at least one event type to act on'),
    /** Where the event type is read from. */
    eventTypePath: dotPath.default('type'),
    /** Where the occurrence time is read from (ISO 8601 or epoch seconds), optional. */
    occurredAtPath: dotPath.optional(),
    /** Where customer_id is read from. Required unless identity resolution is configured. */
    customerId: dotPath.optional(),
    /** MoEngage attribute key (standard `u_*` or custom) -> dot path of its value. */
    attributes: z.record(z.string(), dotPath).default({}),
    /** MoEngage attribute key -> constant value set on every mapped event. */
    constants: z.record(z.string(), primitive).default({}),
    /** Path of an object whose fields are passed through as custom attributes (flattened). */
    passThrough: dotPath.optional(),
    /** MoEngage array attribute -> dot path of a value or array of values to add. */
    addToArray: z.record(z.string(), dotPath).default({}),
    /** MoEngage array attribute -> dot path of a value or array of values to remove. */
    removeFromArray: z.record(z.string(), dotPath).default({}),
    updateExistingOnly: z.boolean().optional(),
  })
  .strict()
  .superRefine((mapping, ctx) => {
    const sections = [
      ['attributes', mapping.attributes],
      ['constants', mapping.constants],
      ['addToArray', mapping.addToArray],
      ['removeFromArray', mapping.removeFromArray],
    ] as const;
    for (const [section, record] of sections) {
      for (const key of Object.keys(record)) {
        const issue = (message: string, path: (string | number)[] = [section, key]) => ctx.addIssue({ code: 'custom', path, message });
        if (key.trim() === '') issue('attribute names must not be empty', [section]);
        else if (key.toLowerCase().startsWith('moe_')) {
          issue('the moe_ prefix is reserved by MoEngage (identity-resolution identifiers are configured under identityResolution)');
        } else if ((section === 'addToArray' || section === 'removeFromArray') && (STANDARD_ATTRIBUTE_KEYS as readonly string[]).includes(key)) {
          issue(`${key} is a standard attribute, not an array attribute`);
        }
      }
    }
    for (const key of Object.keys(mapping.constants)) {
      if (Object.prototype.hasOwnProperty.call(mapping.attributes, key)) {
        ctx.addIssue({ code: 'custom', path: ['constants', key], message: `${key} is also mapped in attributes; set it in one place` });
      }
    }
  });
export type StandardMapping = z.infer<typeof standardMappingSchema>;

/** Options every source accepts. */
export const sourceOptionsSchema = z
  .object({
    /** Set false to answer 404 for this source even when a secret exists. */
    enabled: z.boolean().default(true),
    /**
     * Where customer_id comes from instead of the default of contract.md:
     * `email` or `phone` (the mapped primary email / phone), or a dot path into the body.
     */
    customerIdField: z.union([z.literal('email'), z.literal('phone'), dotPath]).optional(),
    /** Send `update_existing_only: true`: MoEngage only updates users it already knows. */
    updateExistingOnly: z.boolean().optional(),
    /** Signature timestamp tolerance in seconds (providers that sign a timestamp). */
    toleranceSeconds: z.number().int().positive().max(86_400).optional(),
    /** Shopify: the largest accepted age of X-Shopify-Triggered-At, in seconds (off by default). */
    maxAgeSeconds: z.number().int().positive().optional(),
    /** Pass the provider's extra fields (metadata, traits...) through as custom attributes. */
    customAttributes: z.boolean().default(true),
  })
  .strict();
export type SourceOptions = z.infer<typeof sourceOptionsSchema>;

export const standardSourceOptionsSchema = sourceOptionsSchema.extend({ mapping: standardMappingSchema.optional() }).strict();
export type StandardSourceOptions = z.infer<typeof standardSourceOptionsSchema>;

/**
 * MoEngage User Identity Resolution. When enabled, customer_id may be absent as long as
 * at least one identifier is present; identifiers are `moe_`-prefixed attributes that the
 * payload rules otherwise refuse.
 */
export const identityResolutionSchema = z
  .object({
    /** identifier attribute (e.g. `moe_email`, `moe_mobile`) -> the mapped attribute that feeds it (`u_em`, `u_mb`, ...). */
    identifiers: z
      .record(z.string().regex(/^moe_[a-z0-9_]+$/, 'identifier names look like moe_email'), z.string().min(1))
      .refine((r) => Object.keys(r).length > 0, 'name at least one identifier'),
  })
  .strict();
export type IdentityResolutionConfig = z.infer<typeof identityResolutionSchema>;

export const adapterConfigSchema = z
  .object({
    sources: z
      .object({
        clerk: sourceOptionsSchema.optional(),
        stripe: sourceOptionsSchema.optional(),
        shopify: sourceOptionsSchema.optional(),
        workos: sourceOptionsSchema.optional(),
        auth0: sourceOptionsSchema.optional(),
        segment: sourceOptionsSchema.optional(),
        standard: standardSourceOptionsSchema.optional(),
      })
      .strict()
      .default({}),
    identityResolution: identityResolutionSchema.optional(),
  })
  .strict();
export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

const optionsCache = new WeakMap<AdapterConfig, Map<SourceName, StandardSourceOptions>>();

/** Options of one source with defaults applied (computed once per configuration object). */
export function sourceOptions(config: AdapterConfig, source: SourceName): StandardSourceOptions {
  let perSource = optionsCache.get(config);
  if (!perSource) optionsCache.set(config, (perSource = new Map()));
  let options = perSource.get(source);
  if (!options) perSource.set(source, (options = standardSourceOptionsSchema.parse(config.sources[source] ?? {})));
  return options;
}

/** Turns zod issues into one line per problem, each naming its path, e.g. `sources.standard.mapping.events: ...`. */
export function formatIssues(error: z.ZodError, prefix = ''): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
      return `${path || '(root)'}: ${i.message}`;
    })
    .join('\n');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an adapter configuration object, throwing a ConfigError whose message names each bad path. */
export function parseAdapterConfig(input: unknown, where = 'adapter configuration'): AdapterConfig {
  const result = adapterConfigSchema.safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(`Invalid ${where}:\n${formatIssues(result.error)}`);
  }
  return result.data;
}
