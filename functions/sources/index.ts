/** The registry of webhook sources, by route name (`POST /webhooks/{source}`). */
import type { SourceName } from '../core/config';
import { auth0Source } from './auth0';
import { clerkSource } from './clerk';
import { segmentSource } from './segment';
import { shopifySource } from './shopify';
import { standardSource } from './standard';
import { stripeSource } from './stripe';
import type { WebhookSource } from './types';
import { workosSource } from './workos';

export const SOURCES: Readonly<Record<SourceName, WebhookSource>> = {
  clerk: clerkSource,
  stripe: stripeSource,
  shopify: shopifySource,
  workos: workosSource,
  auth0: auth0Source,
  segment: segmentSource,
  standard: standardSource,
};

export type { WebhookSource } from './types';
