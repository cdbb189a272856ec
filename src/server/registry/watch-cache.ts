/**
 * The watch cache of one resource, as the API server keeps one per resource: the recent
 * changes in resourceVersion order, so that a watch can start from a version a client listed
 * (`?watch=1&resourceVersion=N`) and miss nothing, and the open watches to fan changes out to.
 *
 * Every change of the resource goes through {@link WatchCache.publish} after it was stored,
 * with the object's new resourceVersion; versions come from the store's one counter, so they
 * grow across resources and one resource's history has gaps. A watch from version `N` is
 * served when nothing of this resource newer than `N` was dropped from the history (`N` is at
 * least the {@link WatchCache.floor}); otherwise it is refused with 410 Gone and the client
 * lists again, as from the API server.
 */
import type { Unsubscribe, WatchEvent } from '../../agent/node-api.js';
import { badRequest, expired, HttpError } from '../status.js';

/** Changes kept per resource (the API server's default watch cache size is 100 per resource; podvisor keeps more). */
export const WATCH_HISTORY = 2000;

/** A change as delivered to watches: the same object to every watcher (encoded once, see watch.ts). */
export type Change<T> = WatchEvent<T>;

/** The recent changes and open watches of one resource. */
export class WatchCache<T> {
  private readonly history: { rv: number; e: Change<T> }[] = [];
  private readonly watchers = new Set<(e: Change<T>) => void>();
  /** Versions up to this one may have had changes that are no longer in the history. */
  private floorRv: number;

  /**
   * @param startRv the store's resourceVersion when the cache starts: changes before it are
   *   not in the history, so a watch from an older version gets 410.
   * @param size changes kept.
   */
  constructor(startRv: number, private readonly size = WATCH_HISTORY) {
    this.floorRv = startRv;
  }

  /** The oldest version a watch may start from. */
  get floor(): number {
    return this.floorRv;
  }

  /** Number of open watches. */
  get watcherCount(): number {
    return this.watchers.size;
  }

  /** Records a stored change and hands it to every open watch. `rv` is the object's new resourceVersion. */
  publish(type: Change<T>['type'], object: T, rv: number): void {
    const e: Change<T> = { type, object };
    this.history.push({ rv, e });
    if (this.history.length > this.size) {
      const dropped = this.history.shift();
      if (dropped) this.floorRv = Math.max(this.floorRv, dropped.rv);
    }
    for (const w of [...this.watchers]) w(e);
  }

  /**
   * Starts a watch. From `resourceVersion` undefined, `""` or `"0"`: `initial()` as ADDED
   * events first, then every change. From a version: every kept change after it, then every
   * new one. Throws 400 for a version that is not a number, 410 Gone for one older than the
   * history.
   */
  watch(resourceVersion: string | undefined, initial: () => T[], onEvent: (e: Change<T>) => void): Unsubscribe {
    const rv = resourceVersion === undefined || resourceVersion === '' ? 0 : Number(resourceVersion);
    if (!Number.isSafeInteger(rv) || rv < 0) throw new HttpError(badRequest(`invalid resource version: ${String(resourceVersion)}`));
    if (rv === 0) {
      for (const o of initial()) onEvent({ type: 'ADDED', object: o });
    } else {
      if (rv < this.floorRv) throw new HttpError(expired(`too old resource version: ${rv} (${this.floorRv})`));
      for (const h of this.history) if (h.rv > rv) onEvent(h.e);
    }
    this.watchers.add(onEvent);
    return () => this.watchers.delete(onEvent);
  }
}
