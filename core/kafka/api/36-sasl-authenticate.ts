/**
 * SaslAuthenticate (key 36), versions 0-2 (v2 flexible); advertised only on a SASL listener.
 * Carries one SASL token each way after a SaslHandshake v1 (librdkafka 2.0.2 sends v0, kafkajs v1).
 * - v1 adds session_lifetime_ms (last in the response); x2 answers 0: no re-authentication.
 * - A failure is SASL_AUTHENTICATION_FAILED with a message, after which the gateway closes.
 */
import { defineApi, type RequestOf, type ResponseOf } from '../codec/define-api.ts';
import { field } from '../codec/schema.ts';

export const saslAuthenticate = defineApi({
  apiKey: 36,
  name: 'SaslAuthenticate',
  versionMin: 0,
  versionMax: 2,
  flexibleVersionMin: 2,
  request: {
    authBytes: field('bytes'),
  },
  response: {
    errorCode: field('int16'),
    errorMessage: field('nullableString'),
    authBytes: field('bytes'),
    sessionLifetimeMs: field('int64', { min: 1 }),
  },
});

export type SaslAuthenticateRequest = RequestOf<typeof saslAuthenticate>;
export type SaslAuthenticateResponse = ResponseOf<typeof saslAuthenticate>;
