// What the data path needs of a bound media socket, whichever I/O backend provides it.
export interface MediaPort {
  readonly port: number;
  readonly address: string;
  /** Sends buf[0..len) to address:port; `done` runs once the buffer may be reused. */
  send(buf: Buffer, len: number, port: number, address: string, done: (err: Error | null) => void): void;
  close(): void;
}
