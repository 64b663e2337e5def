/**
 * InitProducerId (key 22), versions 0-1 (librdkafka idempotence needs 0 in range; kafkajs max
 * 1; v2 is flexible). x2 serves idempotent producers: transactional_id is null.
 * - throttle_time_ms is first from v0; v1 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { field } from '../codec/schema.ts';

export const initProducerId = defineApi({
  apiKey: 22,
  name: 'InitProducerId',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    transactionalId: field('nullableString'),
    transactionTimeoutMs: field('int32'),
  },
  response: {
    throttleTimeMs: field('int32'),
    errorCode: field('int16'),
    producerId: field('int64', { defaultValue: -1 }),
    producerEpoch: field('int16'),
  },
});

export type InitProducerIdRequest = RequestOf<typeof initProducerId>;
export type InitProducerIdResponse = ResponseOf<typeof initProducerId>;
