// HelloVerifyRequest cookies (RFC 6347 §4.2.1): Cookie = HMAC(Secret, Client-Address,
// Client-Parameters). The server answers a ClientHello without a valid cookie statelessly,
// so a spoofed source gets one small datagram back and creates no handshake state.
//
// The secret rotates (default every 60 s) and the previous one is still accepted, so a client
// whose cookie was minted just before a rotation is not bounced twice. Rotation is lazy, done
// on use against the injected clock: no timer to keep or unref. One CookieSecret can be shared
// by every endpoint of a relay.
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { Writer } from './wire.ts';

export interface CookieSecretOptions {
  /** How long a secret mints cookies, in ms. Default 60 000. */
  rotateMs?: number;
  /** Clock, for tests. Default Date.now. */
  now?: () => number;
}

const COOKIE_LEN = 32;
const enc = new TextEncoder();

export class CookieSecret {
  readonly #rotateMs: number;
  readonly #now: () => number;
  #current: Buffer;
  #previous: Buffer | null = null;
  #since: number;

  constructor(options: CookieSecretOptions = {}) {
    this.#rotateMs = options.rotateMs ?? 60_000;
    this.#now = options.now ?? Date.now;
    this.#current = randomBytes(32);
    this.#since = this.#now();
  }

  #rotate(): void {
    const now = this.#now();
    const elapsed = now - this.#since;
    if (elapsed < this.#rotateMs) return;
    // After two periods of silence the previous secret is too old to honour as well.
    this.#previous?.fill(0);
    this.#previous = elapsed < 2 * this.#rotateMs ? this.#current : null;
    if (this.#previous === null) this.#current.fill(0);
    this.#current = randomBytes(32);
    this.#since = now;
  }

  static #mac(secret: Buffer, clientAddress: string, clientParams: Uint8Array): Buffer {
    const input = new Writer().vec16(enc.encode(clientAddress)).bytes(clientParams).finish();
    return createHmac('sha256', secret).update(input).digest();
  }

  /** A cookie for this client address and ClientHello parameters. */
  generate(clientAddress: string, clientParams: Uint8Array): Uint8Array {
    this.#rotate();
    return CookieSecret.#mac(this.#current, clientAddress, clientParams);
  }

  /** Constant-time check against the current and the previous secret. */
  verify(clientAddress: string, clientParams: Uint8Array, cookie: Uint8Array): boolean {
    this.#rotate();
    if (cookie.length !== COOKIE_LEN) return false;
    let ok = timingSafeEqual(CookieSecret.#mac(this.#current, clientAddress, clientParams), cookie);
    if (this.#previous !== null) ok = timingSafeEqual(CookieSecret.#mac(this.#previous, clientAddress, clientParams), cookie) || ok;
    return ok;
  }
}
