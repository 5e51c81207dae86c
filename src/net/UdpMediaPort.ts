// One bound UDP socket carrying media (node:dgram). The relay's only I/O backend for now;
// a batched native backend would implement the same shape.
import dgram from 'node:dgram';
import type { AddressFamily } from './types.ts';
import type { MediaPort } from './MediaPort.ts';

export type DatagramHandler = (msg: Buffer, address: string, port: number) => void;

export class UdpMediaPort implements MediaPort {
  readonly port: number;
  readonly address: string;
  readonly #socket: dgram.Socket;
  #closed = false;

  private constructor(socket: dgram.Socket, address: string, port: number) {
    this.#socket = socket;
    this.address = address;
    this.port = port;
  }

  /** Binds address:port; rejects with the bind error (EADDRINUSE etc.). */
  static bind(family: AddressFamily, address: string, port: number, onDatagram: DatagramHandler): Promise<UdpMediaPort> {
    return new Promise((resolve, reject) => {
      const socket = dgram.createSocket({ type: family === 'IPv6' ? 'udp6' : 'udp4', ipv6Only: family === 'IPv6' });
      const onError = (err: Error) => { socket.close(); reject(err); };
      socket.once('error', onError);
      socket.bind({ address, port, exclusive: true }, () => {
        socket.off('error', onError);
        // A send or receive error on a media socket (ICMP unreachable, ENOBUFS) is a
        // counted drop for the stream, never a crash of the relay.
        socket.on('error', () => {});
        socket.on('message', (msg, rinfo) => onDatagram(msg, rinfo.address, rinfo.port));
        resolve(new UdpMediaPort(socket, address, socket.address().port));
      });
    });
  }

  send(buf: Buffer, len: number, port: number, address: string, done: (err: Error | null) => void): void {
    this.#socket.send(buf, 0, len, port, address, done);
  }

  setBufferSizes(bytes: number): void {
    try {
      this.#socket.setRecvBufferSize(bytes);
      this.#socket.setSendBufferSize(bytes);
    } catch { /* best effort: the kernel caps it at rmem_max/wmem_max */ }
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#socket.close();
  }
}
