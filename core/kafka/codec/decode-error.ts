/**
 * The one error the Kafka decoders throw. Every short or malformed input (a frame from a
 * client, a record batch, a varint) ends as a KafkaDecodeError that says what was being read
 * and at which byte position of the input; anything else escaping a decoder is a bug. The
 * gateway answers it with a Kafka error or a closed connection, never a crash.
 */
export class KafkaDecodeError extends Error {
  override name = 'KafkaDecodeError';
  /** What was being decoded, e.g. `int32`, `Produce v7 request`. */
  readonly what: string;
  /** Byte position in the input where decoding failed. */
  readonly position: number;

  constructor(what: string, position: number, problem: string) {
    super(`${what} at byte ${position}: ${problem}`);
    this.what = what;
    this.position = position;
  }
}
