/**
 * Watch streams (`?watch=true`): a chunked response of newline-separated
 * `{"type":…,"object":…}` lines, filtered by the request's selectors the way the API server's
 * watch cache filters them (an object that starts or stops matching is seen as ADDED or
 * DELETED), optionally with periodic BOOKMARKs, ended at `timeoutSeconds`.
 */
import type { ServerResponse } from 'node:http';
import type { Unsubscribe, WatchEvent } from '../agent/node-api.js';

/** What a watch needs to know about the objects it streams. */
export interface WatchSource<T> {
  /** Subscribes from `resourceVersion`; may call `onEvent` synchronously and may throw (410 Gone). */
  subscribe(resourceVersion: string | undefined, onEvent: (e: WatchEvent<T>) => void): Unsubscribe;
  /** The objects that exist now (to know which ones currently match the selectors). */
  current(): T[];
  /** True when the object passes the request's namespace and selectors. */
  matches(obj: T): boolean;
  /** Identity of an object across events (namespace/name). */
  key(obj: T): string;
  /** `metadata.resourceVersion` of an object. */
  resourceVersionOf(obj: T): string | undefined;
  /** The wire form of an event's object (the object itself, or a one-row Table). */
  render(obj: T, resourceVersion: string | undefined): unknown;
  /** The object of a BOOKMARK event at `resourceVersion`, or undefined to send no bookmarks. */
  bookmark?: (resourceVersion: string) => unknown;
}

/** Timing and bounds of a watch. */
export interface WatchTiming {
  /** The stream ends after this many ms (at most 2^31-1: a Node timer). */
  timeoutMs: number;
  /** BOOKMARK period in ms (when the source supports bookmarks). */
  bookmarkIntervalMs: number;
  /** Store resourceVersion when the watch starts (first bookmark value). */
  startResourceVersion: string;
  /**
   * A client that stops reading is cut off when an event is due while more than this is still
   * queued for it (the replay of the first events is exempt, as a list response would be).
   */
  maxBufferedBytes: number;
  /** Called once when the watch ends, however it ends; `slow` when it was cut off for not reading. */
  onEnd?: (info: { slow: boolean; bufferedBytes: number }) => void;
}

/**
 * Encoded events by object, then by event type. The agent hands the same event object to
 * every watcher, so each is encoded once however many watch it, and the queues of stalled
 * watchers share one string instead of holding a copy each.
 */
const encoded = new WeakMap<object, Map<string, string>>();

function encodeEvent(type: string, obj: unknown, wire: unknown): string {
  if (wire !== obj || typeof obj !== 'object' || obj === null) return `${JSON.stringify({ type, object: wire })}\n`;
  let byType = encoded.get(obj);
  if (!byType) encoded.set(obj, (byType = new Map()));
  let line = byType.get(type);
  if (line === undefined) byType.set(type, (line = `${JSON.stringify({ type, object: wire })}\n`));
  return line;
}

/**
 * Starts a watch on `res`. Subscribes first: if that throws (e.g. 410 Gone) nothing has been
 * written and the error propagates, so the caller can answer with a `Status`. Otherwise the
 * 200 header is sent at once and events follow until the timeout, the client leaving or the
 * server closing the connection.
 */
export function startWatch<T>(res: ServerResponse, resourceVersion: string | undefined, src: WatchSource<T>, timing: WatchTiming, headers: Record<string, string>): void {
  const matched = new Set<string>();
  for (const o of src.current()) if (src.matches(o)) matched.add(src.key(o));
  let lastRv = resourceVersion && resourceVersion !== '0' ? resourceVersion : timing.startResourceVersion;
  let pending: string[] | undefined = [];
  let ended = false;
  let slow = false;
  let slowBytes = 0;

  /** Writes one line; `live` lines are refused to a client that lets output pile up. */
  const write = (line: string, live: boolean): void => {
    if (ended || res.destroyed) return;
    if (live && res.writableLength > timing.maxBufferedBytes) {
      slow = true;
      slowBytes = res.writableLength;
      res.destroy();
      return;
    }
    res.write(line);
  };

  const emit = (line: string): void => {
    if (pending) pending.push(line);
    else write(line, true);
  };

  // Runs inside the backend's notification loop: it must never throw into it.
  const onEvent = (e: WatchEvent<T>): void => {
    try {
      deliver(e);
    } catch {
      res.destroy();
    }
  };

  const deliver = (e: WatchEvent<T>): void => {
    const obj = e.object;
    const rv = src.resourceVersionOf(obj);
    if (rv !== undefined) lastRv = rv;
    const key = src.key(obj);
    const was = matched.has(key);
    const is = src.matches(obj);
    let type: WatchEvent<T>['type'] | undefined;
    if (e.type === 'DELETED') {
      if (was || is) type = 'DELETED';
      matched.delete(key);
    } else if (is) {
      type = e.type === 'ADDED' || !was ? 'ADDED' : 'MODIFIED';
      matched.add(key);
    } else if (was) {
      type = 'DELETED';
      matched.delete(key);
    }
    if (type !== undefined) emit(encodeEvent(type, obj, src.render(obj, rv)));
  };

  const unsubscribe = src.subscribe(resourceVersion, onEvent);

  res.writeHead(200, headers);
  res.flushHeaders();
  const queued = pending;
  pending = undefined;
  for (const line of queued) write(line, false);

  const timers: ReturnType<typeof setTimeout>[] = [];
  const finish = (): void => {
    if (ended) return;
    ended = true;
    unsubscribe();
    for (const t of timers) clearTimeout(t);
    if (!res.destroyed && !res.writableEnded) res.end();
    timing.onEnd?.({ slow, bufferedBytes: slowBytes });
  };
  timers.push(setTimeout(finish, timing.timeoutMs));
  const bookmark = src.bookmark;
  if (bookmark && timing.bookmarkIntervalMs > 0) {
    const iv = setInterval(() => emit(`${JSON.stringify({ type: 'BOOKMARK', object: bookmark(lastRv) })}\n`), timing.bookmarkIntervalMs);
    timers.push(iv);
  }
  res.on('close', finish);
}
