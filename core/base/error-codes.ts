/**
 * The table of operator-facing errors: one stable code per failure an operator can meet, its
 * exit status and a one-line description. man/x2-errors.7 lists exactly these codes (a test
 * keeps the two in step).
 */
export const EXIT_CODES = {
  ok: 0,
  usage: 2,
  software: 70,
  data: 65,
  io: 74,
  interrupted: 130,
} as const;

export type ExitCode = (typeof EXIT_CODES)[keyof typeof EXIT_CODES];

export const ERROR_CODES = {
  X2_ERR_USAGE: { exit: EXIT_CODES.usage, what: 'unknown command or option, or a bad flag value' },
  X2_ERR_IO: { exit: EXIT_CODES.io, what: 'a file or socket operation failed' },
  X2_ERR_DISK_FULL: { exit: EXIT_CODES.io, what: 'no space left on the data device (retriable)' },
  X2_ERR_SEGMENT_CRC: { exit: EXIT_CODES.data, what: 'a stored entry failed its CRC32C check' },
  X2_ERR_FORMAT: { exit: EXIT_CODES.data, what: 'a file has an unknown magic or format version' },
  X2_ERR_SEQUENCER_UNAVAILABLE: { exit: EXIT_CODES.io, what: 'the sequencer is unreachable or not ready (retriable)' },
  X2_ERR_APPEND_REJECTED: { exit: EXIT_CODES.data, what: 'an append was malformed and refused by the sequencer' },
  X2_ERR_APPEND_CONDITION: { exit: EXIT_CODES.data,
    what: 'a conditional append was refused: a stream was not at the expected offset (another writer moved it)' },
  X2_ERR_OFFSET_OUT_OF_RANGE: { exit: EXIT_CODES.data, what: 'a read outside a stream\'s log start..next offset' },
  X2_ERR_STORE_BACKPRESSURE: { exit: EXIT_CODES.io,
    what: 'the store write buffer is full or its index is behind (retriable after sync)' },
  X2_ERR_SIDECAR: { exit: EXIT_CODES.data, what: 'a sidecar stopped: user logic failed or bad input' },
  X2_ERR_INTERNAL: { exit: EXIT_CODES.software, what: 'an internal invariant failed (a bug)' },
} as const;

export type ErrorCode = keyof typeof ERROR_CODES;
