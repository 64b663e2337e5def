/**
 * Accepted TCP connections that read into one reused buffer instead of a fresh Buffer per read.
 *
 * Why: Node allocates a new ArrayBuffer for every read of a socket. At 160 MB/s of produce that
 * churn of external memory made V8 scavenge every ~40-80 ms in the gateway (client requests) and
 * in the sequencer (appends). Node reads into a caller's buffer only for sockets created with the
 * `onread` option, which an accepting server does not pass; so the server is created with
 * `pauseOnConnect` (the accepted socket never starts reading) and a new Socket with `onread`
 * adopts its handle. This relies on `_handle` and `_server`, internals of Node's net module that
 * have not changed in years; when they are missing, the accepted socket is used as it is (fresh
 * chunks, which meet the same contract). reused-read-buffer.test.ts checks the adoption works on
 * the pinned Node.
 *
 * Contract: a chunk handed to `onChunk` is valid only during the call; whatever outlives it must
 * be copied. Pausing the returned socket stops reading (readStop), resuming starts it again.
 * `readTarget`, asked before each read, may name where the next read lands instead of the reused
 * buffer (a framer's place for the rest of a large message); `onChunk` then gets a view of it.
 *
 * TLS sockets: Node's TLS server ignores `onread` too, and a TLS socket cannot be adopted (its
 * handle is the TLS layer). `readTlsWithBuffer` gives the TLS layer a user buffer the way `onread`
 * does inside Node: it sets the socket's kBuffer / kBufferCb / kBufferGen slots (symbols found on
 * a plain Socket) and calls the handle's useUserBuffer. Decrypted bytes are then copied into the
 * reused buffer (or the read target) instead of a fresh 16 KiB Buffer each pushed through the
 * stream machinery. One difference from plaintext: pausing stops the reads of the encrypted side,
 * but bytes already read are still decrypted and delivered (at most one read of the TCP socket).
 */
import { Socket, type Server } from 'node:net';
import type { TLSSocket } from 'node:tls';

/** What Node's net module keeps on an accepted socket (not in its typings). */
type AcceptedSocket = Socket & { _handle?: { useUserBuffer?: unknown } | null; _server?: Server | null;
  server?: Server | null };

/**
 * A reader offers `readTarget` only for a message missing at least this much: below it, reading
 * through the reused buffer is as cheap (one read may then hold several messages).
 */
export const READ_IN_PLACE_BYTES_MIN = 16 * 1024;

/** Server options for connections to be adopted by `adoptWithReadBuffer`. */
export const ADOPTABLE_SERVER_OPTIONS = { noDelay: true, pauseOnConnect: true } as const;

/**
 * Returns the socket to use for `accepted` (from a server made with ADOPTABLE_SERVER_OPTIONS):
 * its reads land in one buffer of `readBytes`, passed to `onChunk` as a view of what was read.
 */
export function adoptWithReadBuffer(accepted: Socket, readBytes: number, onChunk: (chunk: Buffer) => void,
  readTarget: () => Buffer | null = () => null): Socket {
  const old = accepted as AcceptedSocket;
  const handle = old._handle;
  if (!handle || typeof handle.useUserBuffer !== 'function' || old.destroyed) {
    accepted.on('data', onChunk);
    accepted.resume();
    return accepted;
  }
  const buffer = Buffer.allocUnsafe(readBytes);
  const server = old._server ?? null;
  // The old socket must never touch the handle again, nor count as the server's connection.
  old._handle = null;
  old._server = null;
  old.server = null;
  const adopted = new Socket({
    handle: handle as never, readable: true, writable: true,
    onread: {
      buffer: () => readTarget() ?? buffer,
      callback: (bytes: number, read: Uint8Array) => {
        onChunk((read as Buffer).subarray(0, bytes));
        return true;
      },
    },
  }) as AcceptedSocket;
  adopted._server = server;
  adopted.server = server;
  return adopted;
}


/** The slots net.Socket keeps for `onread` (internal symbols), or null if this Node has none. */
type UserBufferSlots = { buffer: symbol; callback: symbol; generator: symbol };
let userBufferSlots: UserBufferSlots | null | undefined;

function findUserBufferSlots(): UserBufferSlots | null {
  if (userBufferSlots !== undefined) return userBufferSlots;
  const symbols = Object.getOwnPropertySymbols(new Socket());
  const named = (description: string) => symbols.find((symbol) => symbol.description === description);
  const buffer = named('kBuffer');
  const callback = named('kBufferCb');
  const generator = named('kBufferGen');
  userBufferSlots = buffer && callback && generator ? { buffer, callback, generator } : null;
  return userBufferSlots;
}

type UserBufferSocket = TLSSocket & { _handle?: { useUserBuffer?: (buffer: Uint8Array) => void } | null } &
  Record<symbol, unknown>;

/**
 * Makes a TLS socket whose handshake is done deliver its decrypted bytes to `onChunk`, read into
 * one buffer of `readBytes` (or `readTarget`'s). Returns false when this Node lacks the internals:
 * the socket then delivers fresh chunks through 'data' events to the same `onChunk`.
 */
export function readTlsWithBuffer(socket: TLSSocket, readBytes: number, onChunk: (chunk: Buffer) => void,
  readTarget: () => Buffer | null = () => null): boolean {
  // Bytes decrypted together with the handshake's end wait in the stream's buffer: first.
  for (let chunk = socket.read() as Buffer | null; chunk !== null; chunk = socket.read() as Buffer | null) {
    onChunk(chunk);
  }
  const slots = findUserBufferSlots();
  const tls = socket as UserBufferSocket;
  const handle = tls._handle;
  if (slots === null || !handle || typeof handle.useUserBuffer !== 'function' || socket.destroyed) {
    socket.on('data', onChunk);
    return false;
  }
  const buffer = Buffer.allocUnsafe(readBytes);
  const next = () => readTarget() ?? buffer;
  const first = next();
  tls[slots.buffer] = first;
  tls[slots.callback] = (bytes: number, read: Uint8Array) => {
    onChunk((read as Buffer).subarray(0, bytes));
    return true;
  };
  tls[slots.generator] = next;
  handle.useUserBuffer(first);
  // Reads run while the stream flows; the 'data' path would have started it the same way.
  socket.resume();
  return true;
}
