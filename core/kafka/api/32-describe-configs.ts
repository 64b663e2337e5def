/**
 * DescribeConfigs (key 32), versions 0-2 (kafkajs 2, librdkafka 1, kafka-python 2; v4 is
 * flexible). Resource type 2 = topic, 4 = broker; configuration_keys null = all keys.
 * - throttle_time_ms is first from v0.
 * - v1 adds include_synonyms, config_source and synonyms, and drops is_default.
 * - v2 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, nullableArray, struct } from '../codec/schema.ts';

export const describeConfigs = defineApi({
  apiKey: 32,
  name: 'DescribeConfigs',
  versionMin: 0,
  versionMax: 2,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    resources: field(
      array(
        struct({
          resourceType: field('int8'),
          resourceName: field('string'),
          configurationKeys: field(nullableArray('string')),
        }),
      ),
    ),
    includeSynonyms: field('bool', { min: 1 }),
  },
  response: {
    throttleTimeMs: field('int32'),
    results: field(
      array(
        struct({
          errorCode: field('int16'),
          errorMessage: field('nullableString'),
          resourceType: field('int8'),
          resourceName: field('string'),
          configs: field(
            array(
              struct({
                name: field('string'),
                value: field('nullableString'),
                readOnly: field('bool'),
                isDefault: field('bool', { max: 0 }),
                configSource: field('int8', { min: 1, defaultValue: -1 }),
                isSensitive: field('bool'),
                synonyms: field(
                  array(
                    struct({
                      name: field('string'),
                      value: field('nullableString'),
                      source: field('int8'),
                    }),
                  ),
                  { min: 1 },
                ),
              }),
            ),
          ),
        }),
      ),
    ),
  },
});

export type DescribeConfigsRequest = RequestOf<typeof describeConfigs>;
export type DescribeConfigsResponse = ResponseOf<typeof describeConfigs>;
