/**
 * SASL PLAIN (RFC 4616): one client token `authzid NUL authcid NUL password`, UTF-8. The server
 * answers an empty token on success. The password crosses the network as it is: only over TLS
 * (SASL_SSL) is it protected. Kafka accepts an authzid that is empty or the user name itself
 * (kafka-python sends the user name, librdkafka and kafkajs nothing); so does x2.
 */
export type PlainToken = { username: string; password: string };

export function encodePlainToken(username: string, password: string): Buffer {
  return Buffer.from(`\u0000${username}\u0000${password}`, 'utf8');
}

/** The user and password of a client token, or what is wrong with it. */
export function decodePlainToken(token: Buffer): PlainToken | { problem: string } {
  const parts = token.toString('utf8').split('\u0000');
  if (parts.length !== 3) return { problem: 'a PLAIN token is authzid NUL user NUL password' };
  const [authzid, username, password] = parts as [string, string, string];
  if (username === '') return { problem: 'the PLAIN token has no user name' };
  if (authzid !== '' && authzid !== username) {
    return { problem: 'the PLAIN authorization id must be empty or the user name' };
  }
  return { username, password };
}
