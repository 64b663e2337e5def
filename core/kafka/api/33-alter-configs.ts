/**
 * AlterConfigs (key 33), versions 0-1 (kafkajs 1, librdkafka 2.0.2 0; v2 is flexible). Each
 * resource's configs replace its whole set: a key left out goes back to its default. Resource
 * type 2 = topic, 4 = broker; value null is refused (as Kafka does).
 * - throttle_time_ms is first from v0; v1 only changes throttling semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

/** One resource's answer; IncrementalAlterConfigs answers the same way. */
export const ALTER_CONFIGS_RESOURCE_RESPONSE = struct({
  errorCode: field('int16'),
  errorMessage: field('nullableString'),
  resourceType: field('int8'),
  resourceName: field('string'),
});

export const alterConfigs = defineApi({
  apiKey: 33,
  name: 'AlterConfigs',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    resources: field(
      array(
        struct({
          resourceType: field('int8'),
          resourceName: field('string'),
          configs: field(array(struct({ name: field('string'), value: field('nullableString') }))),
        }),
      ),
    ),
    validateOnly: field('bool'),
  },
  response: {
    throttleTimeMs: field('int32'),
    responses: field(array(ALTER_CONFIGS_RESOURCE_RESPONSE)),
  },
});

export type AlterConfigsRequest = RequestOf<typeof alterConfigs>;
export type AlterConfigsResponse = ResponseOf<typeof alterConfigs>;
