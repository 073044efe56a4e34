/**
 * The `events` option in the CDK app's configuration: checked at synth time with the path of
 * the bad entry, and passed to the receiver with the rest of the adapter configuration.
 */
import { App, Stack } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { AppConfigError } from '../../lib/app-config';
import { MoEngageAdapter } from '../../lib/moengage-adapter';
import { ENV } from '../../functions/core/names';
import { CDK_JSON_CONTEXT, resource, SKIP_BUNDLING, synthAdapter } from './synth';

describe('events in the CDK configuration', () => {
  it.each([
    ['{"sources":{"clerk":{"events":{"user.deleted":"User Deleted"}}}}', /adapter\.sources\.clerk\.events\.user\.deleted: unknown clerk event type "user\.deleted"/],
    ['{"sources":{"stripe":{"events":{"customer.created":""}}}}', /adapter\.sources\.stripe\.events\.customer\.created: the MoEngage event name must not be empty/],
    ['{"sources":{"standard":{"events":{"member.joined":"Joined"}}}}', /adapter\.sources\.standard\.events: the standard source needs a mapping/],
  ])('a bad events option fails synth naming its path: %s', (adapter, pattern) => {
    expect(() => synthAdapter({ adapter })).toThrow(pattern);
  });

  it('a good one reaches the receiver in ADAPTER_CONFIG_JSON', () => {
    const s = synthAdapter({ adapter: '{"sources":{"clerk":{"events":{"user.created":"Signed Up"}}}}' });
    const json = resource(s, 'AWS::Lambda::Function', 'AdapterReceiver').props.Environment.Variables[ENV.adapterConfigJson] as string;
    expect(JSON.parse(json).sources.clerk.events).toEqual({ 'user.created': 'Signed Up' });
  });

  it("the construct's adapter prop is checked the same way", () => {
    const stack = () => new Stack(new App({ context: { ...CDK_JSON_CONTEXT, ...SKIP_BUNDLING } }), 'UserStack');
    const make = () => new MoEngageAdapter(stack(), 'MoEngage', { moengageDc: '01', adapter: { sources: { shopify: { events: { 'customers/delete': 'Gone' } } } } });
    expect(make).toThrow(AppConfigError);
    expect(make).toThrow(/^Invalid configuration adapter\.sources\.shopify\.events\.customers\/delete: unknown shopify event type/);
  });
});
