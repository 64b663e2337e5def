/**
 * The UDP multicast driver: the sequencer sends each river datagram once to a group on an explicit
 * interface address, and the network (or the kernel, on one host) copies it to every member that
 * joined. Members join on their own explicit interface address (never the default route: inside a
 * namespace without a route the join fails with ENODEV), with large receive buffers because the
 * buffer size decides loss.
 *
 * Two drivers behind one API, the same frames on the wire (multicast-driver.ts picks one):
 * - `mmsg` (native/src/mmsg.cc): `send` copies each datagram into a staging buffer, `sendStable`
 *   only notes where it lies (the sequencer's retransmit ring, so a frame is not copied again on
 *   its way out); one sendmmsg sends them all when the current turn of the event loop ends (a
 *   microtask), when the staging buffer is full, or before datagrams of another buffer are staged.
 *   The receiver gets recvmmsg batches, one callback per wake-up.
 * - `dgram` (Node): one send syscall and one 'message' callback per datagram.
 *
 * Bounds: staging holds at most SEND_BATCH_DATAGRAMS_MAX datagrams / SEND_BATCH_BYTES_MAX bytes;
 * the dgram send queue is visible (`sendQueueBytes`); a native receive batch is at most
 * RECEIVE_BATCH_DATAGRAMS datagrams of at most the river's MTU; the kernel receive buffer is what
 * the kernel grants (net.core.rmem_max caps it). Received datagrams pass the optional loss
 * generator before anything else (tests, bench).
 */
import { createSocket, type Socket } from 'node:dgram';
import {
  nativeAddon, type NativeAddon, type NativeMmsgReceiver, type NativeMmsgSender, type NativeSocketError,
} from '../../native/index.ts';
import type { LossGenerator } from './loss-generator.ts';
import { multicastDriver, type MulticastDriverName } from './multicast-driver.ts';

/**
 * Asked for each receiving socket: twice the sequencer's send window (send-window.ts), so a member
 * that does not read for a while loses nothing the window lets out. The kernel caps it at
 * net.core.rmem_max unless the native driver may force it (CAP_NET_ADMIN); x2 probe shows both.
 */
export const RECEIVE_BUFFER_BYTES = 32 * 1024 * 1024;
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024;
/** sendmmsg takes at most 1024 datagrams (UIO_MAXIOV). */
export const SEND_BATCH_DATAGRAMS_MAX = 1024;
export const SEND_BATCH_BYTES_MAX = 2 * 1024 * 1024;
export const RECEIVE_BATCH_DATAGRAMS = 64;
/** The largest UDP payload over IPv4 fits. */
export const DATAGRAM_BYTES_MAX = 65536;
/** IPv4 and UDP headers: a river datagram on a link of MTU m carries at most m - 28 bytes. */
export const IP_UDP_HEADER_BYTES = 28;

type MmsgClasses = Required<Pick<NativeAddon, 'MmsgSender' | 'MmsgReceiver'>>;

function mmsgClasses(): MmsgClasses {
  const addon = nativeAddon();
  if (!addon?.MmsgSender || !addon.MmsgReceiver) {
    throw new Error('the mmsg multicast driver needs the native addon (it is not loaded, or X2_NATIVE=0)');
  }
  return { MmsgSender: addon.MmsgSender, MmsgReceiver: addon.MmsgReceiver };
}

export class MulticastSender {
  readonly driver: MulticastDriverName;
  readonly #dgram: Socket | null;
  readonly #native: NativeMmsgSender | null;
  readonly #group: string;
  readonly #port: number;
  // mmsg staging: datagrams back to back, sent by one sendmmsg.
  readonly #staging: Buffer;
  readonly #offsets: Uint32Array;
  readonly #lengths: Uint32Array;
  // What the staged offsets refer to: #staging (copies) or a caller's buffer (sendStable).
  #source: Uint8Array;
  #sourceBuffer: ArrayBufferLike | null = null;
  #stagedCount = 0;
  #stagedBytes = 0;
  #flushQueued = false;
  #closed = false;
  datagramsSent = 0;
  bytesSent = 0;
  /** Syscalls that sent datagrams: sendmmsg calls (mmsg) or sends (dgram). */
  sendCalls = 0;
  errors = 0;
  /** errno name of the last datagram that did not go out, or null. */
  lastError: string | null = null;

  private constructor(driver: MulticastDriverName, dgram: Socket | null, native: NativeMmsgSender | null,
    group: string, port: number) {
    this.driver = driver;
    this.#dgram = dgram;
    this.#native = native;
    this.#group = group;
    this.#port = port;
    const staged = native ? SEND_BATCH_DATAGRAMS_MAX : 0;
    this.#staging = Buffer.allocUnsafe(native ? SEND_BATCH_BYTES_MAX : 0);
    this.#source = this.#staging;
    this.#offsets = new Uint32Array(staged);
    this.#lengths = new Uint32Array(staged);
  }

  /** Opens a sender on `driver` (default: the process-wide choice); rejects with the socket error. */
  static async open(group: string, port: number, interfaceAddress: string, ttl = 1,
    driver: MulticastDriverName = multicastDriver().name): Promise<MulticastSender> {
    if (driver === 'mmsg') {
      const native = new (mmsgClasses().MmsgSender)(group, port, interfaceAddress, ttl, SEND_BUFFER_BYTES);
      return new MulticastSender('mmsg', null, native, group, port);
    }
    const socket = createSocket({ type: 'udp4', sendBufferSize: SEND_BUFFER_BYTES });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, interfaceAddress, () => { socket.off('error', reject); resolve(); });
    });
    socket.setMulticastInterface(interfaceAddress);
    socket.setMulticastTTL(ttl);
    socket.setMulticastLoopback(true);
    const sender = new MulticastSender('dgram', socket, null, group, port);
    socket.on('error', (error: NodeJS.ErrnoException) => {
      sender.errors += 1;
      sender.lastError = error.code ?? error.message;
    });
    return sender;
  }

  /**
   * Sends one datagram. dgram: the bytes must stay unchanged until sent (ring frames do); mmsg:
   * they are copied at once and go out with the rest of this turn's datagrams.
   */
  send(datagram: Buffer): void {
    if (this.#closed) return;
    if (this.#dgram) return this.#sendDgram(datagram);
    if (this.#source !== this.#staging || this.#stagedCount === SEND_BATCH_DATAGRAMS_MAX
      || this.#stagedBytes + datagram.length > SEND_BATCH_BYTES_MAX) {
      this.flush();
      this.#source = this.#staging;
      this.#sourceBuffer = null;
    }
    datagram.copy(this.#staging, this.#stagedBytes);
    this.#stage(this.#stagedBytes, datagram.length);
  }

  /**
   * Sends one datagram without copying it: its bytes must stay unchanged until the next `flush`
   * (the sequencer flushes before its retransmit ring may reuse the space). Datagrams of one
   * buffer go out together in one sendmmsg at the end of the turn.
   */
  sendStable(datagram: Buffer): void {
    if (this.#closed) return;
    // dgram may still read the bytes after the next flush (address lookup, an async retry): a copy.
    if (this.#dgram) return this.#sendDgram(Buffer.from(datagram));
    if (this.#sourceBuffer !== datagram.buffer || this.#stagedCount === SEND_BATCH_DATAGRAMS_MAX) {
      this.flush();
      this.#sourceBuffer = datagram.buffer;
      this.#source = new Uint8Array(datagram.buffer);
    }
    this.#stage(datagram.byteOffset, datagram.length);
  }

  #sendDgram(datagram: Buffer): void {
    this.datagramsSent += 1;
    this.bytesSent += datagram.length;
    this.sendCalls += 1;
    this.#dgram!.send(datagram, this.#port, this.#group);
  }

  #stage(offset: number, length: number): void {
    this.datagramsSent += 1;
    this.bytesSent += length;
    this.#offsets[this.#stagedCount] = offset;
    this.#lengths[this.#stagedCount] = length;
    this.#stagedCount += 1;
    this.#stagedBytes += length;
    if (!this.#flushQueued) {
      this.#flushQueued = true;
      queueMicrotask(this.#flushLater);
    }
  }

  readonly #flushLater = (): void => {
    this.#flushQueued = false;
    this.flush();
  };

  /** Sends what is staged now (mmsg); called by itself at the end of the turn. */
  flush(): void {
    if (!this.#native || this.#stagedCount === 0) return;
    const count = this.#stagedCount;
    this.#stagedCount = 0;
    this.#stagedBytes = 0;
    const sent = this.#native.send(this.#source, this.#offsets, this.#lengths, count);
    this.sendCalls += 1;
    if (sent < count) {
      this.errors += count - sent;
      this.lastError = this.#native.takeError() ?? this.lastError;
    }
  }

  /** Bytes accepted but not yet handed to the kernel. */
  get sendQueueBytes(): number { return this.#dgram ? this.#dgram.getSendQueueSize() : this.#stagedBytes; }

  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    if (this.#dgram) this.#dgram.close();
    else this.#native!.close();
  }
}

export type ReceiverOptions = {
  /** Default: the process-wide choice. */
  driver?: MulticastDriverName;
  /** The largest datagram the river sends (its MTU); sizes the native receive slots. */
  datagramBytesMax?: number;
  /** Receive errors after the join (errno name in `code`); the receiver stays open. */
  onError?: (error: NativeSocketError) => void;
  /**
   * Native driver only (ignored by dgram, or an addon without scatterInto): split each datagram
   * into its first `headerBytes` and its body, the bodies slot after slot in buffers from
   * `nextBodies`, each slot datagramBytesMax - headerBytes long; they go to `onScattered`, not
   * `onDatagram`. Bodies stay where they landed until their buffer is handed on: consecutive
   * datagrams' bodies are adjacent (a frame's fragments form its body in place).
   */
  scatter?: {
    headerBytes: number;
    /** A buffer for the next bodies (at least RECEIVE_BATCH_DATAGRAMS slots of `stride`); `previous` is full. */
    nextBodies(previous: Buffer | null, stride: number): Buffer;
    /** `header` is valid only during the call; `body` stays until its buffer is reused by its owner. */
    onScattered(header: Buffer, body: Buffer): void;
  };
};

export class MulticastReceiver {
  readonly driver: MulticastDriverName;
  readonly #dgram: Socket | null;
  #native: NativeMmsgReceiver | null = null;
  datagramsReceived = 0;
  bytesReceived = 0;
  /** Callbacks from the driver: recvmmsg batches (mmsg) or datagrams (dgram). */
  batchesReceived = 0;
  receiveBufferBytes = 0;
  errors = 0;

  private constructor(driver: MulticastDriverName, dgram: Socket | null) {
    this.driver = driver;
    this.#dgram = dgram;
  }

  /**
   * Joins `group` on `interfaceAddress`; rejects with the socket error (ENODEV: no such interface).
   * `onDatagram`'s buffer is valid only during the call (the native driver reads into a reused
   * ring): copy what you keep.
   */
  static async open(group: string, port: number, interfaceAddress: string, loss: LossGenerator | null,
    onDatagram: (datagram: Buffer) => void, options: ReceiverOptions = {}): Promise<MulticastReceiver> {
    const driver = options.driver ?? multicastDriver().name;
    const onError = (error: NativeSocketError): void => {
      receiver.errors += 1;
      options.onError?.(error);
    };
    const receiver = new MulticastReceiver(driver, driver === 'dgram'
      ? createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECEIVE_BUFFER_BYTES })
      : null);
    if (driver === 'mmsg') {
      const lengths = new Uint32Array(RECEIVE_BATCH_DATAGRAMS);
      const datagramBytesMax = Math.min(DATAGRAM_BYTES_MAX, Math.max(576, options.datagramBytesMax
        ?? DATAGRAM_BYTES_MAX));
      const scatter = options.scatter;
      const headerBytes = scatter?.headerBytes ?? 0;
      const stride = datagramBytesMax - headerBytes;
      const headers = Buffer.allocUnsafe(RECEIVE_BATCH_DATAGRAMS * headerBytes);
      let bodies: Buffer | null = null;
      receiver.#native = new (mmsgClasses().MmsgReceiver)(group, port, interfaceAddress, RECEIVE_BUFFER_BYTES,
        datagramBytesMax, lengths, (ring, count, bodyOffset) => {
          receiver.batchesReceived += 1;
          for (let i = 0; i < count; i++) {
            const length = lengths[i]!;
            if (length === 0) continue; // truncated by the kernel: counted natively, NAKed later
            if (loss?.shouldDrop()) continue;
            receiver.datagramsReceived += 1;
            receiver.bytesReceived += length;
            if (bodyOffset < 0) {
              onDatagram(ring.subarray(i * datagramBytesMax, i * datagramBytesMax + length));
            } else if (length < headerBytes) {
              onDatagram(headers.subarray(i * headerBytes, i * headerBytes + length)); // too short: refused there
            } else {
              const bodyStart = bodyOffset + i * stride;
              scatter!.onScattered(headers.subarray(i * headerBytes, (i + 1) * headerBytes),
                bodies!.subarray(bodyStart, bodyStart + length - headerBytes));
            }
            if (!receiver.#native) return; // closed by the callback
          }
          // Room for the next batch, in order after this one while the buffer lasts.
          const native = receiver.#native;
          const left = bodyOffset < 0 ? Infinity : bodies!.length - (bodyOffset + count * stride);
          if (native && left < RECEIVE_BATCH_DATAGRAMS * stride) {
            bodies = scatter!.nextBodies(bodies, stride);
            native.scatterInto!(headers, headerBytes, bodies, 0);
          }
        }, onError);
      if (scatter && receiver.#native.scatterInto) {
        bodies = scatter.nextBodies(null, stride);
        receiver.#native.scatterInto(headers, scatter.headerBytes, bodies, 0);
      }
      receiver.receiveBufferBytes = receiver.#native.receiveBufferBytes();
      return receiver;
    }
    const socket = receiver.#dgram!;
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Bound to the group address: only this group's datagrams reach the socket.
      socket.bind(port, group, () => { socket.off('error', reject); resolve(); });
    });
    try {
      socket.addMembership(group, interfaceAddress);
    } catch (error) {
      socket.close();
      throw error;
    }
    receiver.receiveBufferBytes = socket.getRecvBufferSize();
    socket.on('error', onError);
    socket.on('message', (datagram: Buffer) => {
      receiver.batchesReceived += 1;
      if (loss?.shouldDrop()) return;
      receiver.datagramsReceived += 1;
      receiver.bytesReceived += datagram.length;
      onDatagram(datagram);
    });
    return receiver;
  }

  close(): void {
    if (this.#native) {
      const native = this.#native;
      this.#native = null;
      native.close();
      return;
    }
    try { this.#dgram?.close(); } catch { /* already closed */ }
  }
}
