/**
 * MoEngage data centers and the base URL requests go to (MOENGAGE_DC / MOENGAGE_BASE_URL).
 * Pure; a bad value throws a ConfigError whose one-line message says what to set.
 */
import { ConfigError } from '../config';

export const DATA_CENTERS = ['01', '02', '03', '04', '05', '06', '101'] as const;
export type DataCenter = (typeof DATA_CENTERS)[number];

export function isDataCenter(value: string): value is DataCenter {
  return (DATA_CENTERS as readonly string[]).includes(value);
}

/** A value shown in a one-line error message: no control characters, bounded length. */
function shown(value: string): string {
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, '?');
  return clean.length > 24 ? `${clean.slice(0, 24)}...` : clean;
}

/** `https://api-{DC}.moengage.com`. Strict: `1` is not `01` (the message suggests the fix). */
export function baseUrlForDc(dc: string): string {
  const value = dc.trim();
  if (isDataCenter(value)) return `https://api-${value}.moengage.com`;
  const hint = /^[1-6]$/.test(value) ? ` (did you mean "0${value}"?)` : '';
  throw new ConfigError(`MOENGAGE_DC must be one of ${DATA_CENTERS.join(', ')}; got "${shown(value)}"${hint}`);
}

/**
 * The base URL requests go to: `baseUrl` (MOENGAGE_BASE_URL: an http(s) URL without
 * credentials, query or fragment; trailing slashes trimmed) wins, else the data center's URL.
 */
export function resolveBaseUrl(input: { dc?: string | undefined; baseUrl?: string | undefined }): string {
  const raw = input.baseUrl?.trim();
  if (raw) {
    const example = 'an absolute http(s) URL such as http://127.0.0.1:4010';
    let url: URL;
    try {
      url = new URL(raw);
    } catch {
      // The value itself is not echoed: a malformed URL may well contain a password.
      throw new ConfigError(`MOENGAGE_BASE_URL must be ${example}`);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      throw new ConfigError(`MOENGAGE_BASE_URL must be ${example} (got the scheme "${shown(url.protocol)}")`);
    }
    if (url.username || url.password) {
      throw new ConfigError('MOENGAGE_BASE_URL must not contain credentials: the API key is sent in the Authorization header');
    }
    if (url.search || url.hash) {
      throw new ConfigError('MOENGAGE_BASE_URL must not have a query string or a fragment');
    }
    return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
  }
  const dc = input.dc?.trim();
  if (dc) return baseUrlForDc(dc);
  throw new ConfigError(`set MOENGAGE_DC (one of ${DATA_CENTERS.join(', ')}) or MOENGAGE_BASE_URL`);
}
