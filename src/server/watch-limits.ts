/**
 * Bounds on watches, so that clients cannot grow the daemon's memory without limit:
 *
 * - how many watches may be open, per client and in total (429 `TooManyRequests` beyond, which
 *   client-go retries after `Retry-After`). A client is its remote address: every local client
 *   presents the same token, so the token does not tell them apart, and all of them share
 *   127.0.0.1 (or the Unix socket), so the per-client bound is also what local clients get
 *   together; the total matters when `--listen` is not loopback;
 * - how much output a watch may have waiting for a client that does not read
 *   ({@link MAX_WATCH_BUFFERED_BYTES}); `watch.ts` closes such a watch, as the API server
 *   closes a watcher that falls behind; the client then watches again or re-lists;
 * - `timeoutSeconds`, clamped to what a Node timer can hold.
 */
import { badRequest, HttpError, tooManyRequests } from './status.js';

/**
 * Output a watch may have queued (beyond what the kernel's socket buffers already hold) when
 * a new event is due: 2 MiB. A client that reads keeps this near zero, since events come one
 * request at a time; one that stopped reading reaches it after a few large events and is cut
 * off, so that fifty stalled watches hold about 100 MiB at worst instead of growing with every
 * update. The first events of a watch (the replay of history or of the existing objects) are
 * written whatever their size, as a list response would be.
 */
export const MAX_WATCH_BUFFERED_BYTES = 2 * 1024 * 1024;

/** Limits on the number of open watches. */
export interface WatchLimits {
  /** Per client (remote address). */
  perClient: number;
  /** For the whole server. */
  total: number;
}

/**
 * Default limits: kubectl `get -w` holds one watch, an informer one per resource; 100 leaves
 * room for many tools on one machine, while 250 stalled watches of at most
 * {@link MAX_WATCH_BUFFERED_BYTES} each stay around half a GiB.
 */
export const DEFAULT_WATCH_LIMITS: WatchLimits = { perClient: 100, total: 250 };

/**
 * The longest watch: Node timers hold at most 2^31-1 ms (about 24.8 days); a longer delay
 * fires at once, which ended `timeoutSeconds=3000000` watches immediately.
 */
export const MAX_WATCH_TIMEOUT_SECONDS = Math.floor((2 ** 31 - 1) / 1000);

/** The API server's default: a random duration between min-request-timeout (30 min) and twice that. */
const MIN_REQUEST_TIMEOUT_MS = 1_800_000;

/**
 * The duration of a watch in ms from `timeoutSeconds` (an int64, as `ListOptions` declares it;
 * 400 otherwise), clamped to {@link MAX_WATCH_TIMEOUT_SECONDS}; absent or 0 gives the API
 * server's default. `random` is `Math.random`-like.
 */
export function watchTimeoutMs(q: URLSearchParams, random: () => number): number {
  const t = q.get('timeoutSeconds');
  if (t !== null && t !== '') {
    if (!/^-?\d+$/.test(t) || BigInt(t) > 2n ** 63n - 1n || BigInt(t) < -(2n ** 63n)) {
      throw new HttpError(badRequest(`invalid timeoutSeconds: ${JSON.stringify(t)}: must be an integer (int64)`));
    }
    const n = Number(t);
    if (n < 0) throw new HttpError(badRequest(`invalid timeoutSeconds: ${t}: must not be negative`));
    if (n > 0) return Math.min(n, MAX_WATCH_TIMEOUT_SECONDS) * 1000;
  }
  return MIN_REQUEST_TIMEOUT_MS * (1 + random());
}

/** Counts open watches per client and in total, and refuses those beyond {@link WatchLimits}. */
export class WatchRegistry {
  private readonly byClient = new Map<string, number>();
  private count = 0;

  constructor(private readonly limits: WatchLimits = DEFAULT_WATCH_LIMITS) {}

  /** Open watches. */
  get open(): number {
    return this.count;
  }

  /**
   * Admits a watch of `client`, or throws a 429 `HttpError` (with `Retry-After: 1`). The
   * returned function releases it; calling it again does nothing.
   */
  admit(client: string): () => void {
    const mine = this.byClient.get(client) ?? 0;
    const refuse = (why: string): never => {
      throw new HttpError(tooManyRequests(`Too many requests, please try again later: ${why}`, 1), { 'Retry-After': '1' });
    };
    if (mine >= this.limits.perClient) refuse(`this client has ${mine} watches open, the limit is ${this.limits.perClient}`);
    if (this.count >= this.limits.total) refuse(`${this.count} watches are open, the limit is ${this.limits.total}`);
    this.byClient.set(client, mine + 1);
    this.count++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.count--;
      const left = (this.byClient.get(client) ?? 1) - 1;
      if (left > 0) this.byClient.set(client, left);
      else this.byClient.delete(client);
    };
  }
}
