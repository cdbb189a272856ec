/**
 * Durable storage of the API objects that are not pods (namespaces, ConfigMaps, Secrets, and
 * whatever kinds the server's registry adds): one JSON file per object, written atomically
 * (see {@link writeFileAtomic}) with mode 0600 in directories of mode 0700, so a Secret's
 * values at rest are readable by the daemon's user only.
 *
 * Layout under `<dir>`:
 *   <resource>/<seg(namespace)>/<seg(name)>.json    a namespaced object
 *   <resource>/_cluster/<seg(name)>.json            a cluster-scoped object (a Namespace)
 *
 * Names in file names are {@link nameSegment}s (bounded length, a hash of the whole name); the
 * store reads an object's namespace and name from its content, never from its file name. A
 * file that cannot be read is set aside as `.<file>.corrupt`, never deleted.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fsyncDir, listEntries, nameSegment, removeStaleTemporaries, writeFileAtomic } from './files.js';
import type { StoredObject } from './types.js';

/** The directory segment of cluster-scoped objects (never a name segment: those contain `_` + 32 hex digits). */
const CLUSTER = '_cluster';

/** The objects of every resource, loaded once and kept in memory; every write goes to disk first. */
export class ObjectFiles {
  /** By resource, then by `namespace/name` (`/name` for cluster-scoped objects). */
  private readonly byResource = new Map<string, Map<string, StoredObject>>();

  constructor(readonly dir: string) {}

  private static key(namespace: string | undefined, name: string): string {
    return `${namespace ?? ''}/${name}`;
  }

  /** Where an object is kept (whether or not it exists). */
  file(resource: string, namespace: string | undefined, name: string): string {
    return path.join(this.dir, resource, namespace === undefined ? CLUSTER : nameSegment(namespace), `${nameSegment(name)}.json`);
  }

  /** Loads every object; returns the highest resourceVersion found (for the store's counter). */
  load(): number {
    let rv = 0;
    this.byResource.clear();
    for (const r of listEntries(this.dir)) {
      if (!r.isDirectory() || r.name.startsWith('.')) continue;
      const resource = r.name;
      const objects = new Map<string, StoredObject>();
      for (const d of listEntries(path.join(this.dir, resource))) {
        if (!d.isDirectory() || d.name.startsWith('.')) continue;
        const dir = path.join(this.dir, resource, d.name);
        removeStaleTemporaries(dir);
        for (const f of listEntries(dir)) {
          if (!f.isFile() || !f.name.endsWith('.json') || f.name.startsWith('.')) continue;
          const file = path.join(dir, f.name);
          let obj: StoredObject;
          try {
            obj = JSON.parse(fs.readFileSync(file, 'utf8')) as StoredObject;
            if (typeof obj.metadata.name !== 'string') throw new Error('no metadata.name');
          } catch {
            fs.renameSync(file, path.join(dir, `.${f.name}.corrupt`));
            continue;
          }
          objects.set(ObjectFiles.key(obj.metadata.namespace, obj.metadata.name), obj);
          rv = Math.max(rv, Number(obj.metadata.resourceVersion) || 0);
        }
      }
      this.byResource.set(resource, objects);
    }
    return rv;
  }

  /** Every stored object of a resource (the stored values: callers must not modify them). */
  list(resource: string): StoredObject[] {
    return [...(this.byResource.get(resource)?.values() ?? [])];
  }

  /** One stored object, or undefined. */
  get(resource: string, namespace: string | undefined, name: string): StoredObject | undefined {
    return this.byResource.get(resource)?.get(ObjectFiles.key(namespace, name));
  }

  /** Stores an object durably (one atomic write). */
  put(resource: string, obj: StoredObject): void {
    writeFileAtomic(this.file(resource, obj.metadata.namespace, obj.metadata.name), JSON.stringify(obj));
    let m = this.byResource.get(resource);
    if (!m) this.byResource.set(resource, (m = new Map()));
    m.set(ObjectFiles.key(obj.metadata.namespace, obj.metadata.name), obj);
  }

  /** Removes an object durably (no error when absent). */
  remove(resource: string, namespace: string | undefined, name: string): void {
    const file = this.file(resource, namespace, name);
    fs.rmSync(file, { force: true });
    fsyncDir(path.dirname(file));
    this.byResource.get(resource)?.delete(ObjectFiles.key(namespace, name));
  }
}
