/**
 * Adapter configuration shared by the receiver Lambda, the local run
 * (`ADAPTER_CONFIG`) and the CDK app (context `adapter`). Pure: zod only.
 */
import * as z from 'zod/mini';
import { en } from 'zod/locales';
import { STANDARD_ATTRIBUTE_KEYS } from './moengage/types';
import { closestKey } from './suggest';

/**
 * The schemas of the Lambda path (here, envelope.ts, shared/secrets.ts) and the payload
 * validator (moengage/payload-validator.ts)
 * use zod/mini: the same zod 4 core as `zod`, with functions instead of methods, so that a
 * bundle keeps only what it uses (the `zod` classic API brings every schema type along).
 * Default issue messages come from the English locale, as with `zod` (which installs it on
 * its first schema): installed here unless a locale is configured already.
 */
export function ensureZodLocale(): void {
  if (!z.config().localeError) z.config(en());
}
ensureZodLocale();

export const SOURCE_NAMES = ['clerk', 'stripe', 'shopify', 'workos', 'auth0', 'segment', 'standard'] as const;
export type SourceName = (typeof SOURCE_NAMES)[number];

export function isSourceName(value: string): value is SourceName {
  return (SOURCE_NAMES as readonly string[]).includes(value);
}

/**
 * The provider event types an `events` option may map, per source: the create and update types
 * the source acts on (its deletion event would re-create the user it deletes). The `standard`
 * source's are its mapping's `events` less its `deleteEvents`. A test pins these to the
 * sources' own lists.
 */
export const EVENT_OPTION_TYPES: Readonly<Record<Exclude<SourceName, 'standard'>, readonly string[]>> = {
  clerk: ['user.created', 'user.updated'],
  stripe: ['customer.created', 'customer.updated'],
  shopify: ['customers/create', 'customers/update'],
  workos: ['user.created', 'user.updated'],
  auth0: ['user.created', 'user.updated'],
  segment: ['identify'],
};

/** The longest MoEngage event name the `events` option accepts. */
const MAX_EVENT_NAME_LENGTH = 256;

/**
 * The configuration schemas, built on first use and then kept: building zod schemas takes a
 * Lambda cold start milliseconds, and of the two Lambdas only the receiver reads a
 * configuration (the sender imports this module for SOURCE_NAMES and ConfigError alone).
 */
function buildConfigSchemas() {
  /** A dot path into the provider's JSON body, e.g. `data.object.id` or `data.email_addresses.0.email_address`. */
  const dotPath = z
    .string()
    .check(
      z.minLength(1, 'must be a non-empty dot path such as "data.id"'),
      z.regex(/^[^.\s]+(\.[^.\s]+)*$/, 'must be a dot path such as "data.id" (no spaces, no empty segments)'),
    );

  const primitive = z.union([z.string(), z.number(), z.boolean()]);

  const standardMappingSchema = z
    .strictObject({
      /** Event types (the body's `type`, or `eventTypePath`) that are acted on; others are ignored with 200. */
      events: z.array(z.string().check(z.minLength(1))).check(z.minLength(1, 'list at least one event type to act on')),
      /** Where the event type is read from. */
      eventTypePath: z._default(dotPath, 'type'),
      /** Where the occurrence time is read from (ISO 8601 or epoch seconds), optional. */
      occurredAtPath: z.optional(dotPath),
      /** Where customer_id is read from. Required unless identity resolution is configured. */
      customerId: z.optional(dotPath),
      /** MoEngage attribute key (standard `u_*` or custom) -> dot path of its value. */
      attributes: z._default(z.record(z.string(), dotPath), {}),
      /** MoEngage attribute key -> constant value set on every mapped event. */
      constants: z._default(z.record(z.string(), primitive), {}),
      /** Path of an object whose fields are passed through as custom attributes (flattened). */
      passThrough: z.optional(dotPath),
      /** MoEngage array attribute -> dot path of a value or array of values to add. */
      addToArray: z._default(z.record(z.string(), dotPath), {}),
      /** MoEngage array attribute -> dot path of a value or array of values to remove. */
      removeFromArray: z._default(z.record(z.string(), dotPath), {}),
      updateExistingOnly: z.optional(z.boolean()),
      /**
       * Where the event's version is read from (ISO 8601, epoch seconds or epoch milliseconds):
       * the time the sender's user state compares. Default: the `webhook-timestamp` header.
       */
      version: z.optional(dotPath),
      /** The events carry only changed attributes: judged attribute by attribute (default: whole snapshots). */
      partial: z._default(z.boolean(), false),
      /** Event types that mean "this user was deleted" (with `deleteUsers: true`: one MoEngage Delete User call). */
      deleteEvents: z._default(z.array(z.string().check(z.minLength(1))), []),
    })
    .check(
      z.superRefine((mapping, ctx) => {
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
      }),
    );

  /** The options every source accepts (shared by sourceOptionsSchema and standardSourceOptionsSchema). */
  const sourceOptionsShape = {
    /** Set false to answer 404 for this source even when a secret exists. */
    enabled: z._default(z.boolean(), true),
    /**
     * Where customer_id comes from instead of the default of contract.md:
     * `email` or `phone` (the mapped primary email / phone), or a dot path into the body.
     */
    customerIdField: z.optional(z.union([z.literal('email'), z.literal('phone'), dotPath])),
    /** Send `update_existing_only: true`: MoEngage only updates users it already knows. */
    updateExistingOnly: z.optional(z.boolean()),
    /** Signature timestamp tolerance in seconds (providers that sign a timestamp). */
    toleranceSeconds: z.optional(z.number().check(z.int(), z.positive(), z.maximum(86_400))),
    /** Shopify: the largest accepted age of X-Shopify-Triggered-At, in seconds (off by default). */
    maxAgeSeconds: z.optional(z.number().check(z.int(), z.positive())),
    /** Pass the provider's extra fields (metadata, traits...) through as custom attributes. */
    customAttributes: z._default(z.boolean(), true),
    /**
     * The source's deletion event (clerk/auth0/workos `user.deleted`, stripe `customer.deleted`,
     * shopify `customers/delete`, standard: the mapping's `deleteEvents`) becomes one MoEngage
     * Delete User call. Off: deletion events are ignored (200).
     */
    deleteUsers: z._default(z.boolean(), false),
    /**
     * Provider event type -> MoEngage event name (`{"user.created": "Signed Up"}`): that event
     * also becomes one MoEngage Create Event call, after the user's attributes. Checked per
     * source by eventsOptionIssues (a known type, a usable name).
     */
    events: z.optional(z.record(z.string(), z.string())),
  };

  const sourceOptionsSchema = z.strictObject(sourceOptionsShape);

  const standardSourceOptionsSchema = z.strictObject({ ...sourceOptionsShape, mapping: z.optional(standardMappingSchema) });

  const identityResolutionSchema = z.strictObject({
    /** identifier attribute (e.g. `moe_email`, `moe_mobile`) -> the mapped attribute that feeds it (`u_em`, `u_mb`, ...). */
    identifiers: z
      .record(z.string().check(z.regex(/^moe_[a-z0-9_]+$/, 'identifier names look like moe_email')), z.string().check(z.minLength(1)))
      .check(z.refine((r) => Object.keys(r).length > 0, 'name at least one identifier')),
  });

  const adapterConfigObject = z
    .strictObject({
      sources: z._default(
        z.strictObject({
          clerk: z.optional(sourceOptionsSchema),
          stripe: z.optional(sourceOptionsSchema),
          shopify: z.optional(sourceOptionsSchema),
          workos: z.optional(sourceOptionsSchema),
          auth0: z.optional(sourceOptionsSchema),
          segment: z.optional(sourceOptionsSchema),
          standard: z.optional(standardSourceOptionsSchema),
        }),
        {},
      ),
      identityResolution: z.optional(identityResolutionSchema),
    })
    .check(
      z.superRefine((config, ctx) => {
        for (const [source, options] of Object.entries(config.sources)) {
          for (const issue of eventsOptionIssues(source as SourceName, options)) ctx.addIssue({ code: 'custom', ...issue });
        }
      }),
    );

  // `.default(value)` as on a schema of the `zod` classic API (see adapterConfigSchema below).
  const adapterConfigSchema = Object.assign(adapterConfigObject, {
    default(value: z.output<typeof adapterConfigObject>) {
      return z._default(adapterConfigObject, value);
    },
  });

  return {
    standardMapping: standardMappingSchema,
    sourceOptions: sourceOptionsSchema,
    standardSourceOptions: standardSourceOptionsSchema,
    identityResolution: identityResolutionSchema,
    adapterConfig: adapterConfigSchema,
  };
}

/**
 * The problems of a source's `events` option, each with its path from the configuration's root:
 * a provider type the source does not act on (or its deletion type), an empty name, a name
 * with MoEngage's reserved `moe_` prefix or too long.
 */
function eventsOptionIssues(
  source: SourceName,
  options: { events?: Record<string, string> | undefined; mapping?: { events: string[]; deleteEvents: string[] } | undefined } | undefined,
): { path: string[]; message: string }[] {
  const events = options?.events;
  if (!events) return [];
  const issues: { path: string[]; message: string }[] = [];
  let known: readonly string[];
  if (source === 'standard') {
    const mapping = options?.mapping;
    if (!mapping) {
      return [{ path: ['sources', source, 'events'], message: 'the standard source needs a mapping (sources.standard.mapping) before its events can be mapped' }];
    }
    known = mapping.events.filter((t) => !mapping.deleteEvents.includes(t));
  } else {
    known = EVENT_OPTION_TYPES[source];
  }
  for (const [type, name] of Object.entries(events)) {
    const path = ['sources', source, 'events', type];
    if (!known.includes(type)) {
      const where = source === 'standard' ? "the mapping's events, deletion events excluded" : `the ${source} source acts on`;
      issues.push({ path, message: `unknown ${source} event type "${type}" (${where}: ${known.map((t) => `"${t}"`).join(', ') || 'none'})` });
    }
    if (name.trim() === '') issues.push({ path, message: 'the MoEngage event name must not be empty' });
    else if (name.trim().toLowerCase().startsWith('moe_')) issues.push({ path, message: 'the moe_ prefix is reserved by MoEngage for its own events' });
    else if (name.length > MAX_EVENT_NAME_LENGTH) issues.push({ path, message: `the MoEngage event name is longer than ${MAX_EVENT_NAME_LENGTH} characters` });
  }
  return issues;
}

type ConfigSchemas = ReturnType<typeof buildConfigSchemas>;
let configSchemas: ConfigSchemas | undefined;

/** One of the configuration schemas (the exports below), built on first use. */
export function configSchema<K extends keyof ConfigSchemas>(name: K): ConfigSchemas[K] {
  configSchemas ??= buildConfigSchemas();
  return configSchemas[name];
}

// The schemas, for the CDK app and the tests. `/* @__PURE__ */`: a bundle that does not use one
// leaves it out, so importing this module builds nothing; the Lambda code goes through
// configSchema, which builds the schemas when the configuration is first read.

/**
 * Declarative mapping of the `standard` source (any Standard Webhooks sender).
 * Paths are dot paths into the webhook's JSON body.
 */
export const standardMappingSchema = /* @__PURE__ */ configSchema('standardMapping');
export type StandardMapping = z.infer<typeof standardMappingSchema>;

/** The options of the `standard` source: every source's, and its mapping. */
export const standardSourceOptionsSchema = /* @__PURE__ */ configSchema('standardSourceOptions');
export type StandardSourceOptions = z.infer<typeof standardSourceOptionsSchema>;

/**
 * MoEngage User Identity Resolution. When enabled, customer_id may be absent as long as
 * at least one identifier is present; identifiers are `moe_`-prefixed attributes that the
 * payload rules otherwise refuse.
 */
export const identityResolutionSchema = /* @__PURE__ */ configSchema('identityResolution');
export type IdentityResolutionConfig = z.infer<typeof identityResolutionSchema>;

/**
 * The adapter configuration schema. It also answers `.default(value)`, as a schema of the
 * `zod` classic API does, because the CDK app's configuration schema (lib/app-config.ts, written
 * with `zod`) embeds it with a default; zod schemas of both APIs compose.
 */
export const adapterConfigSchema = /* @__PURE__ */ configSchema('adapterConfig');
export type AdapterConfig = z.infer<typeof adapterConfigSchema>;

const optionsCache = new WeakMap<AdapterConfig, Map<SourceName, StandardSourceOptions>>();

/** Options of one source with defaults applied (computed once per configuration object). */
export function sourceOptions(config: AdapterConfig, source: SourceName): StandardSourceOptions {
  let perSource = optionsCache.get(config);
  if (!perSource) optionsCache.set(config, (perSource = new Map()));
  let options = perSource.get(source);
  if (!options) perSource.set(source, (options = configSchema('standardSourceOptions').parse(config.sources[source] ?? {})));
  return options;
}

interface SchemaDef {
  type?: string;
  shape?: Record<string, unknown>;
  innerType?: unknown;
  valueType?: unknown;
  element?: unknown;
  in?: unknown;
  out?: unknown;
}

function defOf(schema: unknown): SchemaDef | undefined {
  return (schema as { _zod?: { def?: SchemaDef } } | undefined)?._zod?.def;
}

/** Through optional, default, preprocess (pipe) and the like, to the schema that does the work. */
function unwrapSchema(schema: unknown): unknown {
  let s = schema;
  for (let i = 0; i < 10; i++) {
    const def = defOf(s);
    if (!def) return s;
    if (def.innerType !== undefined && ['optional', 'default', 'prefault', 'nullable', 'readonly', 'catch', 'nonoptional'].includes(def.type ?? '')) s = def.innerType;
    else if (def.type === 'pipe') s = defOf(def.out)?.type === 'transform' ? def.in : def.out;
    else return s;
  }
  return s;
}

/** The keys of the object schema at `path` under `root` (zod and zod/mini schemas alike), if it is one. */
function objectKeysAt(root: unknown, path: readonly PropertyKey[]): string[] | undefined {
  let s = unwrapSchema(root);
  for (const segment of path) {
    const def = defOf(s);
    if (def?.type === 'object' && def.shape) s = def.shape[String(segment)];
    else if (def?.type === 'record') s = def.valueType;
    else if (def?.type === 'array') s = def.element;
    else return undefined;
    s = unwrapSchema(s);
  }
  const def = defOf(s);
  return def?.type === 'object' && def.shape ? Object.keys(def.shape) : undefined;
}

/**
 * Turns zod issues into one line per problem, each naming its path, e.g.
 * `sources.standard.mapping.events: ...`. Given the schema that was parsed, an unknown key gets
 * a "did you mean" with the closest known key at that place (`customerID` → `customerId`).
 */
export function formatIssues(error: z.core.$ZodError, prefix = '', schema?: unknown): string {
  return error.issues
    .map((i) => {
      const path = [prefix, ...i.path.map(String)].filter((p) => p !== '').join('.');
      let hint = '';
      if (i.code === 'unrecognized_keys' && schema !== undefined) {
        const known = objectKeysAt(schema, i.path) ?? [];
        const guesses = i.keys.map((k) => [k, closestKey(k, known)] as const).filter(([, g]) => g !== undefined);
        if (guesses.length === 1 && i.keys.length === 1) hint = ` (did you mean ${guesses[0]![1]}?)`;
        else if (guesses.length > 0) hint = ` (did you mean ${guesses.map(([k, g]) => `${g} for ${k}`).join(', ')}?)`;
      }
      return `${path || '(root)'}: ${i.message}${hint}`;
    })
    .join('\n');
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

/** Parses an adapter configuration object, throwing a ConfigError whose message names each bad path. */
export function parseAdapterConfig(input: unknown, where = 'adapter configuration'): AdapterConfig {
  const result = configSchema('adapterConfig').safeParse(input ?? {});
  if (!result.success) {
    throw new ConfigError(`Invalid ${where}:\n${formatIssues(result.error, '', configSchema('adapterConfig'))}`);
  }
  return result.data;
}
