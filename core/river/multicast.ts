/**
 * The UDP multicast driver: the sequencer sends each river datagram once to a group on an explicit
 * interface address, and the network (or the kernel, on one host) copies it to every member that
 * joined. Members join on their own explicit interface address (never the default route: inside a
 * namespace without a route the join fails with ENODEV), with large receive buffers because the
 * buffer size decides loss.
 *
 * Bounds: the send queue is visible (`sendQueueBytes`) so the sequencer can stop producing; the
 * receive buffer is what the kernel grants (net.core.rmem_max caps it). Datagrams pass the
 * optional loss generator before anything else (tests, bench). This is the JS path (dgram); a
 * native batched sendmmsg/recvmmsg path would plug in here with the same frames.
 */
import { createSocket, type Socket } from 'node:dgram';
import type { LossGenerator } from './loss-generator.ts';

export const RECEIVE_BUFFER_BYTES = 8 * 1024 * 1024;
export const SEND_BUFFER_BYTES = 4 * 1024 * 1024;

export class MulticastSender {
  readonly #socket: Socket;
  readonly #group: string;
  readonly #port: number;
  datagramsSent = 0;
  bytesSent = 0;
  errors = 0;

  private constructor(socket: Socket, group: string, port: number) {
    this.#socket = socket;
    this.#group = group;
    this.#port = port;
  }

  static async open(group: string, port: number, interfaceAddress: string, ttl = 1): Promise<MulticastSender> {
    const socket = createSocket({ type: 'udp4', sendBufferSize: SEND_BUFFER_BYTES });
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(0, interfaceAddress, () => { socket.off('error', reject); resolve(); });
    });
    socket.setMulticastInterface(interfaceAddress);
    socket.setMulticastTTL(ttl);
    socket.setMulticastLoopback(true);
    const sender = new MulticastSender(socket, group, port);
    socket.on('error', () => { sender.errors += 1; });
    return sender;
  }

  /** Sends one datagram; the bytes must stay unchanged until sent (ring frames do). */
  send(datagram: Buffer): void {
    this.datagramsSent += 1;
    this.bytesSent += datagram.length;
    this.#socket.send(datagram, this.#port, this.#group);
  }

  get sendQueueBytes(): number { return this.#socket.getSendQueueSize(); }

  close(): void { this.#socket.close(); }
}

export class MulticastReceiver {
  readonly #socket: Socket;
  datagramsReceived = 0;
  bytesReceived = 0;
  receiveBufferBytes = 0;

  private constructor(socket: Socket) {
    this.#socket = socket;
  }

  static async open(group: string, port: number, interfaceAddress: string, loss: LossGenerator | null,
    onDatagram: (datagram: Buffer) => void): Promise<MulticastReceiver> {
    const socket = createSocket({ type: 'udp4', reuseAddr: true, recvBufferSize: RECEIVE_BUFFER_BYTES });
    const receiver = new MulticastReceiver(socket);
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      // Bound to the group address: only this group's datagrams reach the socket.
      socket.bind(port, group, () => { socket.off('error', reject); resolve(); });
    });
    socket.addMembership(group, interfaceAddress);
    receiver.receiveBufferBytes = socket.getRecvBufferSize();
    socket.on('error', () => undefined);
    socket.on('message', (datagram: Buffer) => {
      if (loss?.shouldDrop()) return;
      receiver.datagramsReceived += 1;
      receiver.bytesReceived += datagram.length;
      onDatagram(datagram);
    });
    return receiver;
  }

  close(): void {
    try { this.#socket.close(); } catch { /* already closed */ }
  }
}
