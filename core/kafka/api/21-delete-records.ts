/**
 * DeleteRecords (key 21), versions 0-1 (admin tools; v2 is flexible). Moves a partition's log
 * start to `offset` (-1 = the high watermark) and answers the new low watermark.
 * - v1 only semantics.
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field, struct } from '../codec/schema.ts';

export const deleteRecords = defineApi({
  apiKey: 21,
  name: 'DeleteRecords',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(struct({ partitionIndex: field('int32'), offset: field('int64') })),
          ),
        }),
      ),
    ),
    timeoutMs: field('int32'),
  },
  response: {
    throttleTimeMs: field('int32'),
    topics: field(
      array(
        struct({
          name: field('string'),
          partitions: field(
            array(
              struct({
                partitionIndex: field('int32'),
                lowWatermark: field('int64'),
                errorCode: field('int16'),
              }),
            ),
          ),
        }),
      ),
    ),
  },
});

export type DeleteRecordsRequest = RequestOf<typeof deleteRecords>;
export type DeleteRecordsResponse = ResponseOf<typeof deleteRecords>;
