/** The readers, by source. */
import type { ProviderPolicy } from '../http';
import type { BackfillSource, Reader, ReaderInfo } from '../types';
import { AUTH0_INFO, auth0Reader } from './auth0';
import { CLERK_INFO, clerkReader } from './clerk';
import { SHOPIFY_INFO, shopifyReader } from './shopify';
import { STRIPE_INFO, stripeReader } from './stripe';
import { WORKOS_INFO, workosReader } from './workos';

export const READER_INFO: Readonly<Record<BackfillSource, ReaderInfo>> = {
  stripe: STRIPE_INFO,
  clerk: CLERK_INFO,
  auth0: AUTH0_INFO,
  workos: WORKOS_INFO,
  shopify: SHOPIFY_INFO,
};

export interface ReaderOptions {
  env: Record<string, string | undefined>;
  apiUrl?: string;
  fetch: typeof fetch;
  /** Builds the run's policy once the reader knows its credentials and what to tell on 401. */
  policy: (secrets: string[], authHint: string) => ProviderPolicy;
}

export function createReader(source: BackfillSource, opts: ReaderOptions): Reader {
  switch (source) {
    case 'stripe':
      return stripeReader(opts);
    case 'clerk':
      return clerkReader(opts);
    case 'auth0':
      return auth0Reader(opts);
    case 'workos':
      return workosReader(opts);
    case 'shopify':
      return shopifyReader(opts);
  }
}
