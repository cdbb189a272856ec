/** The durable store: records survive reopening, writes are atomic, torn event lines are skipped. */
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { newPodState, type PodState } from '../../src/core/model.js';
import { FileStore, writeFileAtomic } from '../../src/store/file-store.js';
import type { PodRecord, StoredEvent } from '../../src/store/types.js';

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
const tmp = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'podvisor-store-'));
  dirs.push(d);
  return d;
};

const rec = (name: string, rv: number, restartCount = 0): PodRecord<PodState> => {
  const state = newPodState(`uid-${name}`, 1000);
  state.containers['c'] = { name: 'c', kind: 'regular', restartCount };
  return {
    pod: { apiVersion: 'v1', kind: 'Pod', metadata: { name, namespace: 'default', uid: `uid-${name}`, resourceVersion: String(rv) }, spec: { containers: [{ name: 'c', image: 'x' }] } },
    state,
    restarts: [],
  };
};

const event = (ns: string, rv: number): StoredEvent => ({ metadata: { name: `e${rv}`, namespace: ns, resourceVersion: String(rv) }, reason: 'Started' });

describe('FileStore', () => {
  it('keeps pods, core state, restart counts, events and the resourceVersion across a reopen', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    const rv = s.nextResourceVersion();
    s.putPod(rec('web', rv, 3));
    s.appendEvent(event('default', s.nextResourceVersion()));
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.allPods()).toHaveLength(1);
    expect(again.getPod('default', 'web')?.state.containers['c']?.restartCount).toBe(3);
    expect(again.listEvents('default').map((e) => e.metadata.name)).toEqual(['e2']);
    expect(again.resourceVersion).toBe(2);
    expect(again.nextResourceVersion()).toBe(3);
  });

  it('removes pods durably', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.putPod(rec('a', s.nextResourceVersion()));
    s.removePod('default', 'a');
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.allPods()).toEqual([]);
  });

  it('ignores a leftover temporary file from a crash during a write, and keeps the old content', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.putPod(rec('a', s.nextResourceVersion(), 1));
    // A crash after writing the temp file but before the rename leaves this behind:
    const file = s.podFile('default', 'a');
    writeFileSync(join(dirname(file), `.${basename(file)}.${process.pid}.tmp`), '{"pod": {"metadata": {"na');
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.getPod('default', 'a')?.state.containers['c']?.restartCount).toBe(1);
  });

  it('skips a torn last event line and sets a corrupt pod record aside instead of deleting it', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    s.appendEvent(event('default', s.nextResourceVersion()));
    appendFileSync(join(d, 'events', 'default.jsonl'), '{"metadata": {"name": "e2", "names');
    mkdirSync(join(d, 'pods', 'default'), { recursive: true });
    writeFileSync(join(d, 'pods', 'default', 'broken.json'), 'not json');
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.listEvents().map((e) => e.metadata.name)).toEqual(['e1']);
    expect(again.allPods()).toEqual([]);
    expect(readdirSync(join(d, 'pods', 'default'))).toContain('.broken.json.corrupt');
  });

  it('keeps the newest version of a repeated event in its place, and compacts the log on open', () => {
    const d = tmp();
    const s = new FileStore<PodState>(d);
    s.open();
    const first = event('default', s.nextResourceVersion());
    s.appendEvent(first);
    s.appendEvent(event('default', s.nextResourceVersion()));
    s.appendEvent({ ...first, metadata: { ...first.metadata, resourceVersion: String(s.nextResourceVersion()) }, count: 2 });
    expect(s.listEvents().map((e) => [e.metadata.name, e['count'] ?? 1])).toEqual([['e1', 2], ['e2', 1]]);
    expect(s.hasEvent('default', 'e1')).toBe(true);
    expect(s.hasEvent('default', 'e9')).toBe(false);
    const file = s.eventsFile('default');
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(3); // append-only while running
    const again = new FileStore<PodState>(d);
    again.open();
    expect(again.listEvents().map((e) => [e.metadata.name, e['count'] ?? 1])).toEqual([['e1', 2], ['e2', 1]]);
    expect(again.resourceVersion).toBe(3);
    expect(readFileSync(file, 'utf8').trim().split('\n')).toHaveLength(2); // compacted
  });

  it('writeFileAtomic replaces content whole and leaves no temporary file', () => {
    const d = tmp();
    const f = join(d, 'x', 'file.json');
    writeFileAtomic(f, 'one');
    writeFileAtomic(f, 'two');
    expect(readdirSync(join(d, 'x'))).toEqual(['file.json']);
    expect(existsSync(f)).toBe(true);
  });
});
