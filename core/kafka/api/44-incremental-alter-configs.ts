/**
 * IncrementalAlterConfigs (key 44), versions 0-1 (Java admin clients, librdkafka 2.2+; v1 is
 * flexible: compact strings and arrays, tagged fields, request header v2, response header v1).
 * Each config carries its operation: 0 set, 1 delete (back to the default), 2 append and
 * 3 subtract (list-valued configs only). Same layout in both versions.
 */
import { defineApi, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';
import { ALTER_CONFIGS_RESOURCE_RESPONSE } from './33-alter-configs.ts';

export const incrementalAlterConfigs = defineApi({
  apiKey: 44,
  name: 'IncrementalAlterConfigs',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: 1,
  request: {
    resources: field(
      array(
        struct({
          resourceType: field('int8'),
          resourceName: field('string'),
          configs: field(
            array(
              struct({
                name: field('string'),
                configOperation: field('int8'),
                value: field('nullableString'),
              }),
            ),
          ),
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

export type IncrementalAlterConfigsRequest = RequestOf<typeof incrementalAlterConfigs>;
export type IncrementalAlterConfigsResponse = ResponseOf<typeof incrementalAlterConfigs>;
