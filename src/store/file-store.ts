/**
 * Durable storage of pods (object, core state, restart records) and events, with crash-safe
 * writes: every file is written to a temporary name, fsynced, renamed over the old one and
 * the directory fsynced, so a crash leaves either the old or the new content, never half.
 *
 * Layout under `<dir>`:
 *   meta.json                       { resourceVersion }
 *   pods/<namespace>/<name>.json    PodRecord (the pod, the owner's opaque state, restart records)
 *   events/<namespace>.jsonl        one event version per line (append-only; a repeated event
 *                                   appends its new count under the same name; compacted and
 *                                   trimmed on open)
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { PodRecord, PodStore, StoredEvent } from './types.js';

/** Events kept per namespace (older ones are dropped, like the API server's event TTL). */
const EVENTS_KEPT = 5000;

function fsyncDir(dir: string): void {
  try {
    const fd = fs.openSync(dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    // Some filesystems do not support fsync on directories; the rename is still atomic.
  }
}

/** Writes `data` to `file` atomically and durably. */
export function writeFileAtomic(file: string, data: string): void {
  const dir = path.dirname(file);
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  const fd = fs.openSync(tmp, 'w', 0o600);
  try {
    fs.writeSync(fd, data);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
  fs.renameSync(tmp, file);
  fsyncDir(dir);
}

/**
 * The file store of {@link PodStore}. Single writer (one podvisor process per data dir). `S` is
 * the opaque per-pod state the owner keeps in each record (stored as JSON, never inspected).
 */
export class FileStore<S = unknown> implements PodStore<S> {
  private rv = 0;
  private readonly pods = new Map<string, PodRecord<S>>();
  private readonly events = new Map<string, StoredEvent[]>();

  constructor(readonly dir: string) {}

  /** Loads everything from disk (ignoring leftover temporary files). */
  open(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    try {
      this.rv = Number((JSON.parse(fs.readFileSync(path.join(this.dir, 'meta.json'), 'utf8')) as { resourceVersion: number }).resourceVersion) || 0;
    } catch {
      this.rv = 0;
    }
    const podsDir = path.join(this.dir, 'pods');
    for (const ns of fs.existsSync(podsDir) ? fs.readdirSync(podsDir) : []) {
      for (const f of fs.readdirSync(path.join(podsDir, ns))) {
        if (!f.endsWith('.json') || f.startsWith('.')) continue;
        try {
          const rec = JSON.parse(fs.readFileSync(path.join(podsDir, ns, f), 'utf8')) as PodRecord<S>;
          this.pods.set(`${ns}/${rec.pod.metadata.name ?? ''}`, rec);
          this.rv = Math.max(this.rv, Number(rec.pod.metadata.resourceVersion ?? 0));
        } catch {
          // A record that cannot be read is kept aside for inspection, never silently deleted.
          fs.renameSync(path.join(podsDir, ns, f), path.join(podsDir, ns, `.${f}.corrupt`));
        }
      }
    }
    const evDir = path.join(this.dir, 'events');
    for (const f of fs.existsSync(evDir) ? fs.readdirSync(evDir) : []) {
      if (!f.endsWith('.jsonl')) continue;
      // By name: a later line is a newer version of the same event (its place stays the first one's).
      const byName = new Map<string, StoredEvent>();
      let lines = 0;
      for (const line of fs.readFileSync(path.join(evDir, f), 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        lines++;
        try {
          const e = JSON.parse(line) as StoredEvent;
          byName.set(e.metadata.name, e);
        } catch {
          // A torn last line after a crash: skip it.
        }
      }
      const kept = [...byName.values()].slice(-EVENTS_KEPT);
      for (const e of kept) this.rv = Math.max(this.rv, Number(e.metadata.resourceVersion));
      this.events.set(f.slice(0, -'.jsonl'.length), kept);
      if (kept.length < lines) writeFileAtomic(path.join(evDir, f), kept.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
  }

  /** The newest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Hands out the next resourceVersion (persisted lazily with the object that uses it). */
  nextResourceVersion(): number {
    this.rv += 1;
    return this.rv;
  }

  /** Every stored pod record. */
  allPods(): PodRecord<S>[] {
    return [...this.pods.values()];
  }

  /** The record of one pod, or undefined. */
  getPod(namespace: string, name: string): PodRecord<S> | undefined {
    return this.pods.get(`${namespace}/${name}`);
  }

  /** Stores a pod record durably (the record's pod carries its resourceVersion). */
  putPod(rec: PodRecord<S>): void {
    const ns = rec.pod.metadata.namespace ?? 'default';
    const name = rec.pod.metadata.name ?? '';
    this.pods.set(`${ns}/${name}`, rec);
    writeFileAtomic(path.join(this.dir, 'pods', ns, `${name}.json`), JSON.stringify(rec));
    writeFileAtomic(path.join(this.dir, 'meta.json'), JSON.stringify({ resourceVersion: this.rv }));
  }

  /** Removes a pod record durably. */
  removePod(namespace: string, name: string): void {
    this.pods.delete(`${namespace}/${name}`);
    fs.rmSync(path.join(this.dir, 'pods', namespace, `${name}.json`), { force: true });
    fsyncDir(path.join(this.dir, 'pods', namespace));
    writeFileAtomic(path.join(this.dir, 'meta.json'), JSON.stringify({ resourceVersion: this.rv }));
  }

  /** Stores an event (one line, fsynced): a new one, or a newer version (count) of one stored under the same name. */
  appendEvent(e: StoredEvent): void {
    const ns = e.metadata.namespace;
    const list = this.events.get(ns) ?? [];
    const at = list.findLastIndex((x) => x.metadata.name === e.metadata.name);
    if (at >= 0) list[at] = e;
    else list.push(e);
    if (list.length > EVENTS_KEPT * 2) list.splice(0, list.length - EVENTS_KEPT);
    this.events.set(ns, list);
    const dir = path.join(this.dir, 'events');
    fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
    const fd = fs.openSync(path.join(dir, `${ns}.jsonl`), 'a', 0o600);
    try {
      fs.writeSync(fd, `${JSON.stringify(e)}\n`);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Whether an event of that name is still kept (not trimmed away). */
  hasEvent(namespace: string, name: string): boolean {
    return (this.events.get(namespace) ?? []).findLastIndex((x) => x.metadata.name === name) >= 0;
  }

  /** Events of a namespace, or of all namespaces. */
  listEvents(namespace?: string): StoredEvent[] {
    if (namespace !== undefined) return [...(this.events.get(namespace) ?? [])];
    return [...this.events.values()].flat();
  }
}
