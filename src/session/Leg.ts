// One side of a call (one SIP dialog participant, identified by its tag) and its streams.
import { EventEmitter } from 'node:events';
import type { MediaStreamHandle } from './MediaStreamHandle.ts';

export interface LegEvents {
  '@close': [];
}

export class Leg extends EventEmitter<LegEvents> {
  readonly tag: string;
  readonly streams: MediaStreamHandle[] = [];
  #closed = false;

  constructor(tag: string) {
    super();
    this.tag = tag;
  }

  get closed(): boolean { return this.#closed; }

  /** @internal Session.addStream appends here. */
  attach(stream: MediaStreamHandle): void {
    this.streams.push(stream);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.streams) s.close();
    this.emit('@close');
  }
}
