/**
 * The SASL mechanisms x2 speaks on the Kafka port, server and client side: PLAIN (RFC 4616) and
 * SCRAM-SHA-256/512 (RFC 5802, RFC 7677) as Kafka does them. Names are Kafka's, as clients send
 * them in SaslHandshake. Bounds: a token longer than SASL_TOKEN_BYTES_MAX is refused by whoever
 * reads it (the gateway also caps every frame before authentication at SASL_FRAME_BYTES_MAX).
 */
export const SASL_MECHANISMS = ['PLAIN', 'SCRAM-SHA-256', 'SCRAM-SHA-512'] as const;
export type SaslMechanism = (typeof SASL_MECHANISMS)[number];

/** PLAIN and SCRAM tokens are a user name, a password and nonces: 64 KiB is ample. */
export const SASL_TOKEN_BYTES_MAX = 64 * 1024;
/** A SaslAuthenticate request: header (client id up to 32 KiB) and one token. */
export const SASL_FRAME_BYTES_MAX = SASL_TOKEN_BYTES_MAX + 34 * 1024;

export function isSaslMechanism(name: string): name is SaslMechanism {
  return (SASL_MECHANISMS as readonly string[]).includes(name);
}

/** What x2's own clients (bench, top) authenticate with. */
export type SaslClientCredentials = { mechanism: SaslMechanism; username: string; password: string };
