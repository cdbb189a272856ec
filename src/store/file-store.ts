/**
 * Durable storage of pods (object, core state, restart records) and events, with crash-safe
 * writes: every file is written to a temporary name, fsynced, renamed over the old one and
 * the directory fsynced, so a crash leaves either the old or the new content, never half.
 *
 * Layout under `<dir>`:
 *   meta.json                               { resourceVersion }: the counter's floor (records
 *                                           carry their own resourceVersion; this keeps the
 *                                           counter from going back when records are removed)
 *   pods/<seg(namespace)>/<seg(name)>.json  PodRecord (the pod, the owner's opaque state, restart records)
 *   events/<seg(namespace)>.jsonl           one event version per line (append-only; a repeated
 *                                           event appends its new count under the same name;
 *                                           compacted and trimmed on open)
 *
 * File names never contain a user-chosen name as is: {@link nameSegment} turns a namespace or
 * pod name into a readable prefix plus a hash of the whole name, so a pod name of 253
 * characters (the API's maximum) makes a file name of at most 79 bytes, and the temporary
 * file next to it stays well below the 255-byte limit of a file name. The store reads the
 * namespace and the name of a record from its content, never from its file name.
 *
 * Stores written by earlier versions (`pods/<namespace>/<name>.json`, `events/<namespace>.jsonl`)
 * are migrated when opened: each record is written under its new name before the old file is
 * removed, so a crash during the migration leaves a copy that the next open resolves (the
 * newer resourceVersion wins, the new name on a tie).
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, listEntries as entries, nameSegment, removeStaleTemporaries, TMP_BASE, writeFileAtomic } from './files.js';
import { ObjectFiles } from './objects.js';
import type { ObjectStore, PodRecord, PodStore, StoredEvent, StoredObject } from './types.js';

export { nameSegment, writeFileAtomic } from './files.js';

/** Events kept per namespace (older ones are dropped, like the API server's event TTL). */
const EVENTS_KEPT = 5000;
/** A pod record file found on open. */
interface FoundRecord<S> {
  file: string;
  text: string;
  rec: PodRecord<S>;
  rv: number;
}

/**
 * The file store of {@link PodStore}. Single writer (one podvisor process per data dir). `S` is
 * the opaque per-pod state the owner keeps in each record (stored as JSON, never inspected).
 * Every write goes to disk before memory: when a method throws (an I/O failure), what the
 * store serves is still what is on disk.
 */
export class FileStore<S = unknown> implements PodStore<S>, ObjectStore {
  private rv = 0;
  private readonly objects: ObjectFiles;
  private readonly pods = new Map<string, PodRecord<S>>();
  private readonly events = new Map<string, StoredEvent[]>();

  constructor(readonly dir: string) {
    this.objects = new ObjectFiles(path.join(dir, 'objects'));
  }

  /** Where the record of a pod is kept (whether or not it exists). */
  podFile(namespace: string, name: string): string {
    return path.join(this.dir, 'pods', nameSegment(namespace), `${nameSegment(name)}.json`);
  }

  /** Where the events of a namespace are kept. */
  eventsFile(namespace: string): string {
    return path.join(this.dir, 'events', `${nameSegment(namespace)}.jsonl`);
  }

  /**
   * Loads everything from disk. Temporary files left by a crash during a write are removed
   * first (a live writer's are not: single-writer is the rule, but a second process started by
   * mistake must not break the first's writes); a record that cannot be read is set aside as
   * `.<file>.corrupt`; stores of the earlier layout are migrated (see the module comment).
   * Throws when the directory cannot be read or a migration cannot be written: the store is
   * then unchanged or resolvable by the next open, never half-migrated into a loss.
   */
  open(): void {
    fs.mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const podsDir = path.join(this.dir, 'pods');
    const evDir = path.join(this.dir, 'events');
    const nsDirs = entries(podsDir).filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => path.join(podsDir, e.name));
    for (const d of [this.dir, podsDir, evDir, ...nsDirs]) removeStaleTemporaries(d);
    try {
      this.rv = Number((JSON.parse(fs.readFileSync(path.join(this.dir, 'meta.json'), 'utf8')) as { resourceVersion: number }).resourceVersion) || 0;
    } catch {
      this.rv = 0;
    }
    this.loadPods(nsDirs);
    this.loadEvents(evDir);
    this.rv = Math.max(this.rv, this.objects.load());
  }

  private loadPods(nsDirs: string[]): void {
    const found = new Map<string, FoundRecord<S>[]>();
    for (const d of nsDirs) {
      for (const e of entries(d)) {
        if (!e.isFile() || !e.name.endsWith('.json') || e.name.startsWith('.')) continue;
        const file = path.join(d, e.name);
        const text = fs.readFileSync(file, 'utf8');
        let rec: PodRecord<S>;
        try {
          rec = JSON.parse(text) as PodRecord<S>;
          if (typeof rec.pod.metadata.name !== 'string') throw new Error('no metadata.name');
        } catch {
          // A record that cannot be read is kept aside for inspection, never silently deleted
          // (under a bounded name: an earlier layout's file name can be 255 bytes long).
          const aside = e.name.length <= TMP_BASE ? e.name : `${e.name.slice(0, TMP_BASE)}-${createHash('sha256').update(e.name).digest('hex').slice(0, 8)}`;
          fs.renameSync(file, path.join(d, `.${aside}.corrupt`));
          continue;
        }
        const key = `${rec.pod.metadata.namespace ?? 'default'}/${rec.pod.metadata.name ?? ''}`;
        const list = found.get(key) ?? [];
        list.push({ file, text, rec, rv: Number(rec.pod.metadata.resourceVersion ?? 0) || 0 });
        found.set(key, list);
      }
    }
    const superseded: string[] = [];
    for (const [key, copies] of found) {
      const meta = copies[0]?.rec.pod.metadata;
      if (!meta) continue;
      const want = this.podFile(meta.namespace ?? 'default', meta.name ?? '');
      // The newest copy wins; on a tie the one under the current name (a migration's copy).
      copies.sort((a, b) => b.rv - a.rv || Number(b.file === want) - Number(a.file === want));
      const best = copies[0];
      if (!best) continue;
      if (best.file !== want) writeFileAtomic(want, best.text);
      for (const c of copies) if (c.file !== want) superseded.push(c.file);
      this.pods.set(key, best.rec);
      this.rv = Math.max(this.rv, best.rv);
    }
    // Only once every record is durable under its current name do the older copies go.
    for (const f of superseded) fs.rmSync(f, { force: true });
    for (const d of new Set(superseded.map((f) => path.dirname(f)))) {
      fsyncDir(d);
      try {
        if (entries(d).length === 0) fs.rmdirSync(d);
      } catch {
        // An empty directory of the earlier layout is harmless.
      }
    }
  }

  private loadEvents(evDir: string): void {
    // By namespace, then by name: a later line is a newer version of the same event (its place
    // stays the first one's).
    const byNs = new Map<string, { events: Map<string, StoredEvent>; lines: number; files: Set<string> }>();
    const sources: string[] = [];
    for (const e of entries(evDir)) {
      if (!e.isFile() || !e.name.endsWith('.jsonl') || e.name.startsWith('.')) continue;
      const file = path.join(evDir, e.name);
      sources.push(file);
      for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
        if (line.trim() === '') continue;
        let ev: StoredEvent;
        try {
          ev = JSON.parse(line) as StoredEvent;
          if (typeof ev.metadata.name !== 'string' || typeof ev.metadata.namespace !== 'string') continue;
        } catch {
          continue; // a torn last line after a crash
        }
        const ns = byNs.get(ev.metadata.namespace) ?? { events: new Map<string, StoredEvent>(), lines: 0, files: new Set<string>() };
        ns.lines++;
        ns.files.add(file);
        ns.events.set(ev.metadata.name, ev);
        byNs.set(ev.metadata.namespace, ns);
      }
    }
    const wanted = new Set<string>();
    for (const [namespace, ns] of byNs) {
      const kept = [...ns.events.values()].slice(-EVENTS_KEPT);
      for (const e of kept) this.rv = Math.max(this.rv, Number(e.metadata.resourceVersion) || 0);
      this.events.set(namespace, kept);
      const want = this.eventsFile(namespace);
      wanted.add(want);
      const moved = ns.files.size !== 1 || !ns.files.has(want);
      if (moved || kept.length < ns.lines) writeFileAtomic(want, kept.map((e) => JSON.stringify(e)).join('\n') + '\n');
    }
    const superseded = sources.filter((f) => !wanted.has(f));
    for (const f of superseded) fs.rmSync(f, { force: true });
    if (superseded.length > 0) fsyncDir(evDir);
  }

  /** The newest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.rv;
  }

  /** Hands out the next resourceVersion (persisted with the object that uses it). */
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

  /** Stores a pod record durably (one atomic write; the record carries its resourceVersion). */
  putPod(rec: PodRecord<S>): void {
    const ns = rec.pod.metadata.namespace ?? 'default';
    const name = rec.pod.metadata.name ?? '';
    writeFileAtomic(this.podFile(ns, name), JSON.stringify(rec));
    this.pods.set(`${ns}/${name}`, rec);
  }

  /**
   * Removes a pod record durably. The counter's floor is written first, so the resourceVersions
   * the record held are never handed out again.
   */
  removePod(namespace: string, name: string): void {
    writeFileAtomic(path.join(this.dir, 'meta.json'), JSON.stringify({ resourceVersion: this.rv }));
    const file = this.podFile(namespace, name);
    fs.rmSync(file, { force: true });
    fsyncDir(path.dirname(file));
    this.pods.delete(`${namespace}/${name}`);
  }

  /**
   * Stores an event (one line, fsynced): a new one, or a newer version (count) of one stored
   * under the same name. A failed write is cut off again (best effort), so that the next line
   * does not start in the middle of a torn one.
   */
  appendEvent(e: StoredEvent): void {
    const ns = e.metadata.namespace;
    const file = this.eventsFile(ns);
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o700 });
    const fd = fs.openSync(file, 'a', 0o600);
    try {
      const size = fs.fstatSync(fd).size;
      try {
        fs.writeSync(fd, `${JSON.stringify(e)}\n`);
        fs.fsyncSync(fd);
      } catch (err) {
        try {
          fs.ftruncateSync(fd, size);
        } catch {
          // The torn line stays; open skips lines that do not parse.
        }
        throw err;
      }
    } finally {
      fs.closeSync(fd);
    }
    const list = this.events.get(ns) ?? [];
    const at = list.findLastIndex((x) => x.metadata.name === e.metadata.name);
    if (at >= 0) list[at] = e;
    else list.push(e);
    if (list.length > EVENTS_KEPT * 2) list.splice(0, list.length - EVENTS_KEPT);
    this.events.set(ns, list);
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

  /** Removes every event of a namespace: its file first, then what is served. */
  removeEvents(namespace: string): void {
    const file = this.eventsFile(namespace);
    writeFileAtomic(path.join(this.dir, 'meta.json'), JSON.stringify({ resourceVersion: this.rv }));
    fs.rmSync(file, { force: true });
    fsyncDir(path.dirname(file));
    this.events.delete(namespace);
  }

  /** Every stored object of a resource. */
  listObjects(resource: string): StoredObject[] {
    return this.objects.list(resource);
  }

  /** One stored object, or undefined. */
  getObject(resource: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.objects.get(resource, namespace, name);
  }

  /** Stores an object durably (one atomic write, mode 0600). */
  putObject(resource: string, obj: StoredObject): void {
    this.objects.put(resource, obj);
  }

  /** Removes an object durably; the counter's floor is written first (see {@link removePod}). */
  removeObject(resource: string, namespace: string | undefined, name: string): void {
    writeFileAtomic(path.join(this.dir, 'meta.json'), JSON.stringify({ resourceVersion: this.rv }));
    this.objects.remove(resource, namespace, name);
  }
}
