/**
 * SaslHandshake (key 17), versions 0-1; advertised only on a SASL listener.
 * - The client names a mechanism; the answer lists the enabled ones (UNSUPPORTED_SASL_MECHANISM
 *   when the named one is not among them).
 * - v0: the SASL tokens that follow are raw, each framed by a 4-byte length and no request header
 *   (kafka-python 2.0.2 always sends v0). v1: they travel in SaslAuthenticate requests (librdkafka,
 *   kafkajs).
 */
import { defineApi, NEVER_FLEXIBLE, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { array, field } from '../codec/schema.ts';

export const saslHandshake = defineApi({
  apiKey: 17,
  name: 'SaslHandshake',
  versionMin: 0,
  versionMax: 1,
  flexibleVersionMin: NEVER_FLEXIBLE,
  request: {
    mechanism: field('string'),
  },
  response: {
    errorCode: field('int16'),
    mechanisms: field(array('string')),
  },
});

export type SaslHandshakeRequest = RequestOf<typeof saslHandshake>;
export type SaslHandshakeResponse = ResponseOf<typeof saslHandshake>;
