// A loopback UDP endpoint for tests: sends, and collects what arrives.
import dgram from 'node:dgram';

export class UdpPeer {
  readonly socket: dgram.Socket;
  readonly received: { msg: Buffer; port: number; address: string }[] = [];
  #waiters: (() => void)[] = [];

  private constructor(socket: dgram.Socket) {
    this.socket = socket;
    socket.on('message', (msg, rinfo) => {
      this.received.push({ msg, port: rinfo.port, address: rinfo.address });
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1', port = 0): Promise<UdpPeer> {
    const s = dgram.createSocket(address.includes(':') ? 'udp6' : 'udp4');
    await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(port, address, () => resolve()); });
    return new UdpPeer(s);
  }

  get port(): number { return this.socket.address().port; }
  get address(): string { return this.socket.address().address; }

  send(data: Uint8Array, port: number, address = '127.0.0.1'): Promise<void> {
    return new Promise((resolve, reject) => this.socket.send(data, port, address, (err) => (err ? reject(err) : resolve())));
  }

  /** Waits until `count` datagrams have arrived in total, or `ms` elapsed; returns them all. */
  async waitFor(count: number, ms = 2000): Promise<Buffer[]> {
    const deadline = Date.now() + ms;
    while (this.received.length < count && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.#waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    return this.received.map((r) => r.msg);
  }

  /** Lets in-flight datagrams land, then returns how many arrived. */
  async settle(ms = 150): Promise<number> {
    await new Promise((r) => setTimeout(r, ms));
    return this.received.length;
  }

  clear(): void { this.received.length = 0; }

  close(): Promise<void> {
    return new Promise((resolve) => this.socket.close(() => resolve()));
  }
}
