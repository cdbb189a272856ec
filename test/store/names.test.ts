/**
 * The store's file names and its failures: every namespace and pod name the API admits (up to
 * 63 and 253 characters) maps to bounded, distinct file names; a store of the earlier layout
 * opens with every pod (migrated); temporary files a crash left are removed at open; a write
 * that fails leaves the store as it was (on disk and in memory), and it works again once the
 * fault is gone. Faults are made by putting a file where a directory must be (or the other
 * way round), which stops root as well as a normal user.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newPodState, type PodState } from '../../src/core/model.js';
import { FileStore, nameSegment, writeFileAtomic } from '../../src/store/file-store.js';
import type { PodRecord, StoredEvent } from '../../src/store/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'podvisor-names-'));
  dirs.push(d);
  return d;
};

/** A valid DNS-1123 subdomain of exactly `n` characters: labels of at most 63 joined by dots. */
function subdomain(n: number, ch: string): string {
  let s = '';
  while (s.length < n) {
    const room = n - s.length - (s === '' ? 0 : 1);
    s += (s === '' ? '' : '.') + ch.repeat(Math.min(63, room));
  }
  return s;
}

const rec = (namespace: string, name: string, rv: number, restartCount = 0): PodRecord<PodState> => {
  const state = newPodState(`uid-${rv}`, 1000);
  state.containers['c'] = { name: 'c', kind: 'regular', restartCount };
  return {
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace, uid: `uid-${rv}`, resourceVersion: String(rv) }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    state,
    restarts: [],
  };
};
const event = (namespace: string, name: string, rv: number, count = 1): StoredEvent => ({ metadata: { name, namespace, resourceVersion: String(rv) }, reason: 'Started', count });

/** Every path under `d` (files and directories), relative. */
function walk(d: string, rel = ''): string[] {
  return readdirSync(join(d, rel), { withFileTypes: true }).flatMap((e) => {
    const r = join(rel, e.name);
    return e.isDirectory() ? [r, ...walk(d, r)] : [r];
  });
}

/** A PID no process has (a child that has exited). */
function deadPid(): number {
  const pid = spawnSync('true').pid;
  if (pid === undefined || pid <= 0) throw new Error('no pid');
  return pid;
}

const NAMESPACES = ['a', 'n'.repeat(63), `${'9-'.repeat(31)}z`];
const NAMES = ['a', 'x'.repeat(63), 'y'.repeat(64), subdomain(252, 'q'), subdomain(253, 'z'), `${'m'.repeat(40)}.${subdomain(212, 'k')}`];

describe('store file names', () => {
  it('nameSegment is bounded, readable, never hidden, and distinct for names that share a long prefix', () => {
    const long = subdomain(253, 'z');
    expect(nameSegment(long).length).toBeLessThanOrEqual(73);
    expect(nameSegment(long).startsWith('z'.repeat(40))).toBe(true);
    expect(nameSegment('web')).toMatch(/^web_[0-9a-f]{32}$/);
    expect(nameSegment(`${long.slice(0, 250)}abc`)).not.toBe(nameSegment(`${long.slice(0, 250)}abd`));
    expect(nameSegment('.hidden/../x').startsWith('.')).toBe(false);
    expect(nameSegment('.hidden/../x')).not.toContain('/');
  });

  it('stores, lists, reopens and removes pods at the longest names in every namespace/name combination', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    for (const ns of NAMESPACES) {
      for (const name of NAMES) {
        s.putPod(rec(ns, name, s.nextResourceVersion(), name.length));
        s.appendEvent(event(ns, `${name}.17f3a2b4c5d6e7f8`, s.nextResourceVersion()));
      }
    }
    // No path component anywhere reaches the 255-byte limit of a file name.
    for (const p of walk(d)) for (const part of p.split('/')) expect(Buffer.byteLength(part)).toBeLessThanOrEqual(100);
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.allPods()).toHaveLength(NAMESPACES.length * NAMES.length);
    for (const ns of NAMESPACES) {
      expect(again.listEvents(ns)).toHaveLength(NAMES.length);
      for (const name of NAMES) {
        const got = again.getPod(ns, name);
        expect(got?.pod.metadata).toMatchObject({ namespace: ns, name });
        expect(got?.state.containers['c']?.restartCount).toBe(name.length);
      }
    }
    for (const ns of NAMESPACES) for (const name of NAMES) again.removePod(ns, name);
    const third = new FileStore<PodState>(d);
    third.open();
    expect(third.allPods()).toEqual([]);
    expect(third.resourceVersion).toBe(again.resourceVersion);
  });

  it('writeFileAtomic bounds its temporary file name: a 250-byte file name can be written', () => {
    const d = tmp();
    const f = join(d, `${'f'.repeat(245)}.json`);
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(readdirSync(d)).toEqual([basename(f)]);
  });
});

describe('stores of the earlier layout', () => {
  /** Writes `pods/<namespace>/<name>.json`, as podvisor wrote it before file names were hashed. */
  const oldPod = (d: string, r: PodRecord<PodState>): void => {
    const dir = join(d, 'pods', r.pod.metadata.namespace ?? 'default');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, `${r.pod.metadata.name ?? ''}.json`), JSON.stringify(r));
  };

  it('open with every pod, event and the resourceVersion, migrated to the current file names', () => {
    const d = tmp();
    writeFileSync(join(d, 'meta.json'), JSON.stringify({ resourceVersion: 9 }));
    oldPod(d, rec('default', 'web', 5, 2));
    oldPod(d, rec('team-a', 'api', 6, 1));
    mkdirSync(join(d, 'events'));
    writeFileSync(join(d, 'events', 'default.jsonl'), [event('default', 'web.1', 3), event('default', 'web.2', 4), event('default', 'web.1', 7, 2)].map((e) => JSON.stringify(e)).join('\n') + '\n');
    writeFileSync(join(d, 'events', 'team-a.jsonl'), `${JSON.stringify(event('team-a', 'api.1', 8))}\n`);

    const s = new FileStore<PodState>(d);
    s.open();
    expect(s.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(2);
    expect(s.getPod('team-a', 'api')?.state.containers['c']?.restartCount).toBe(1);
    expect(s.listEvents('default').map((e) => [e.metadata.name, e['count']])).toEqual([['web.1', 2], ['web.2', 1]]);
    expect(s.listEvents('team-a').map((e) => e.metadata.name)).toEqual(['api.1']);
    expect(s.resourceVersion).toBe(9);
    // The old files are gone, the current ones are there.
    expect(existsSync(join(d, 'pods', 'default'))).toBe(false);
    expect(existsSync(join(d, 'pods', 'team-a'))).toBe(false);
    expect(existsSync(join(d, 'events', 'default.jsonl'))).toBe(false);
    expect(existsSync(s.podFile('default', 'web'))).toBe(true);
    expect(existsSync(s.eventsFile('team-a'))).toBe(true);

    // Reopened as is, and a removed pod does not come back from an old copy.
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.allPods().map((r) => r.pod.metadata.name).sort()).toEqual(['api', 'web']);
    expect(again.listEvents().map((e) => e.metadata.name)).toHaveLength(3);
    again.removePod('default', 'web');
    const third = new FileStore<PodState>(d);
    third.open();
    expect(third.allPods().map((r) => r.pod.metadata.name)).toEqual(['api']);
  });

  it('an interrupted migration (old and new copy on disk) keeps the newer copy, under the current name', () => {
    for (const [oldRv, newRv] of [[5, 9], [9, 5]] as const) {
      const d = tmp();
      oldPod(d, rec('default', 'web', oldRv, oldRv));
      writeFileAtomic(new FileStore(d).podFile('default', 'web'), JSON.stringify(rec('default', 'web', newRv, newRv)));
      const s = new FileStore<PodState>(d);
      s.open();
      expect(s.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(Math.max(oldRv, newRv));
      expect(existsSync(join(d, 'pods', 'default'))).toBe(false);
      const again = new FileStore<PodState>(d);
      again.open();
      expect(again.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(Math.max(oldRv, newRv));
    }
  });
});

describe('temporary files left by a crash', () => {
  it('are removed at open, except a live writer\'s; valid files and set-aside records stay', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.putPod(rec('default', 'web', s.nextResourceVersion(), 3));
    s.appendEvent(event('default', 'web.1', s.nextResourceVersion()));
    s.removePod('default', 'gone'); // writes meta.json
    const podDir = dirname(s.podFile('default', 'web'));
    const evDir = dirname(s.eventsFile('default'));
    const dead = deadPid();
    const stale = [
      join(d, `.meta.json.${dead}.tmp`),
      join(podDir, `.${basename(s.podFile('default', 'web'))}.${dead}.tmp`),
      join(podDir, `.${basename(s.podFile('default', 'other'))}.${process.pid}.tmp`),
      join(evDir, `.${basename(s.eventsFile('default'))}.${dead}.tmp`),
    ];
    // process.ppid runs (the test runner): its temporary file may be a write in progress.
    const live = join(podDir, `.${basename(s.podFile('default', 'busy'))}.${process.ppid}.tmp`);
    const kept = [join(podDir, '.broken.json.corrupt'), join(d, 'notes.txt')];
    for (const f of [...stale, live, ...kept]) writeFileSync(f, '{"pod": {"meta');
    const before = walk(d).filter((p) => !p.endsWith('.tmp') && !p.endsWith('.corrupt') && !p.endsWith('notes.txt'));

    const again = new FileStore<PodState>(d);
    again.open();
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    for (const f of [live, ...kept]) expect(existsSync(f), f).toBe(true);
    expect(walk(d).filter((p) => !p.endsWith('.tmp') && !p.endsWith('.corrupt') && !p.endsWith('notes.txt'))).toEqual(before);
    expect(again.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(3);
    expect(again.listEvents('default').map((e) => e.metadata.name)).toEqual(['web.1']);
  });
});

describe('a write that fails', () => {
  /** Puts a regular file where the directory `dir` was (moved aside); returns the repair. */
  const breakDir = (dir: string): (() => void) => {
    renameSync(dir, `${dir}.aside`);
    writeFileSync(dir, 'not a directory');
    return () => {
      rmSync(dir);
      renameSync(`${dir}.aside`, dir);
    };
  };

  it('throws, leaves disk and memory as they were and no temporary file; the store works once the fault is gone', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.putPod(rec('default', 'web', s.nextResourceVersion(), 1));
    s.appendEvent(event('default', 'web.1', s.nextResourceVersion()));
    const repairPods = breakDir(dirname(s.podFile('default', 'web')));
    const repairEvents = breakDir(dirname(s.eventsFile('default')));

    expect(() => s.putPod(rec('default', 'web', s.nextResourceVersion(), 2))).toThrow();
    expect(() => s.putPod(rec('default', 'new', s.nextResourceVersion()))).toThrow();
    expect(() => s.removePod('default', 'web')).toThrow();
    expect(() => s.appendEvent(event('default', 'web.2', s.nextResourceVersion()))).toThrow();
    expect(s.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(1);
    expect(s.getPod('default', 'new')).toBeUndefined();
    expect(s.listEvents('default').map((e) => e.metadata.name)).toEqual(['web.1']);

    repairPods();
    repairEvents();
    expect(walk(d).filter((p) => p.endsWith('.tmp'))).toEqual([]);
    s.putPod(rec('default', 'new', s.nextResourceVersion(), 7));
    s.appendEvent(event('default', 'web.2', s.nextResourceVersion()));
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(1);
    expect(again.getPod('default', 'new')?.state.containers['c']?.restartCount).toBe(7);
    expect(again.listEvents('default').map((e) => e.metadata.name)).toEqual(['web.1', 'web.2']);
  });

  it('removePod whose resourceVersion floor cannot be written removes nothing', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.putPod(rec('default', 'web', s.nextResourceVersion()));
    mkdirSync(join(d, 'meta.json')); // a directory where the file must go: the rename fails
    expect(() => s.removePod('default', 'web')).toThrow();
    expect(s.getPod('default', 'web')).toBeDefined();
    expect(statSync(s.podFile('default', 'web')).isFile()).toBe(true);
    expect(walk(d).filter((p) => p.endsWith('.tmp'))).toEqual([]);
  });
});
