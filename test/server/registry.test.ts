/**
 * The object registry in-process (no HTTP, no socket): the real registry over a real file
 * store, the pod lifecycle behind it the small fake agent. What every kind shares (names from
 * generateName, the optimistic lock, creationTimestamp carried over), namespaces (system ones,
 * termination), ConfigMaps and Secrets (immutability, stringData, mode 0600 at rest, pods told
 * of changes), watch caches (resumption, 410), and durability across a restart.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Registry } from '../../src/server/registry/index.js';
import type { WriteOptions } from '../../src/server/registry/types.js';
import { WatchCache } from '../../src/server/registry/watch-cache.js';
import { HttpError } from '../../src/server/status.js';
import { FileStore } from '../../src/store/file-store.js';
import { FakeAgent } from './fake-agent.js';
import { podManifest, until } from './helpers.js';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- API objects read as untyped JSON
type Obj = Record<string, any>;
const W: WriteOptions = { dryRun: false, fieldValidation: 'Warn' };
const dirs: string[] = [];
const agents: FakeAgent[] = [];

afterEach(() => {
  for (const a of agents.splice(0)) a.dispose();
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

function setup(dir = mkdtempSync(join(tmpdir(), 'podvisor-registry-'))) {
  if (!dirs.includes(dir)) dirs.push(dir);
  const store = new FileStore(join(dir, 'store'));
  store.open();
  const agent = new FakeAgent(store, join(dir, 'logs'));
  agent.deleteDelayMs = 20;
  agents.push(agent);
  const registry = new Registry({ agent, store, now: () => Date.now() });
  registry.start();
  return { dir, store, agent, registry };
}

/** The Status of a refused call. */
function refusal(f: () => unknown): Obj {
  try {
    f();
  } catch (err) {
    if (err instanceof HttpError) return err.status as unknown as Obj;
    throw err;
  }
  throw new Error('not refused');
}

const cm = (name: string, data: Record<string, string>, extra: Obj = {}): Obj => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data, ...extra });

describe('generateName (the API server\'s BeforeCreate and RetryGenerateName)', () => {
  const SUFFIX = /^[bcdfghjklmnpqrstvwxz2456789]{5}$/;

  it('a generateName of 250 characters gives its first 58 plus 5 random characters, a valid name, distinct each time', () => {
    const { registry } = setup();
    const base = `${'g'.repeat(63)}.${'h'.repeat(63)}.${'i'.repeat(63)}.${'j'.repeat(58)}`;
    const body = (): Obj => ({ ...podManifest(''), metadata: { generateName: base } });
    const a = registry.pods.create('default', body(), W).obj.metadata.name ?? '';
    const b = registry.pods.create('default', body(), W).obj.metadata.name ?? '';
    for (const n of [a, b]) {
      expect(n).toHaveLength(63);
      expect(n.slice(0, 58)).toBe(base.slice(0, 58));
      expect(n.slice(58)).toMatch(SUFFIX);
    }
    expect(a).not.toBe(b);
    expect(registry.pods.get('default', a)?.metadata.generateName).toBe(base);
    const c = registry.configmaps.create('default', { ...cm('', { k: 'v' }), metadata: { generateName: 'cfg-' } }, W).obj;
    expect(c.metadata.name).toMatch(/^cfg-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
  });

  it('the generated name is validated like any other; a generateName too long is refused; nothing is created', () => {
    const { registry, agent } = setup();
    const s = refusal(() => registry.pods.create('default', { ...podManifest(''), metadata: { generateName: 'Worker-' } }, W));
    expect(s.code).toBe(422);
    expect(s.details.name).toMatch(/^Worker-[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    expect(s.details.causes.map((c: Obj) => c.field)).toEqual(['metadata.generateName', 'metadata.name']);
    const long = refusal(() => registry.pods.create('default', { ...podManifest(''), metadata: { generateName: 'g'.repeat(254) } }, W));
    expect(long.message).toMatch(/metadata.generateName: Invalid value: "g{254}": must be no more than 253 characters/);
    expect(agent.calls.filter((c) => c[0] === 'createPod')).toEqual([]);
  });
});

describe('updates: the optimistic lock and server-set metadata', () => {
  it('a client\'s creationTimestamp in any spelling is ignored; a stale resourceVersion is a 409; uid may not change', () => {
    const { registry } = setup();
    const created = registry.configmaps.create('default', cm('c', { a: '1' }), W).obj as Obj;
    const ts = created.metadata.creationTimestamp as string;
    for (const spelled of [ts.replace('Z', '.000Z'), ts.replace('Z', '+00:00'), '1999-01-01T00:00:00Z']) {
      const cur = registry.configmaps.get('default', 'c') as Obj;
      const next = { ...cur, metadata: { ...cur.metadata, creationTimestamp: spelled }, data: { a: spelled } };
      const w = registry.configmaps.update('default', 'c', next, W).obj as Obj;
      expect(w.metadata.creationTimestamp).toBe(ts);
      expect(w.metadata.uid).toBe(created.metadata.uid);
    }
    const stale = refusal(() => registry.configmaps.update('default', 'c', { ...cm('c', { a: 'x' }), metadata: { name: 'c', resourceVersion: created.metadata.resourceVersion } }, W));
    expect(stale).toMatchObject({ code: 409, reason: 'Conflict', message: 'Operation cannot be fulfilled on configmaps "c": the object has been modified; please apply your changes to the latest version and try again' });
    const uid = refusal(() => registry.configmaps.update('default', 'c', { ...cm('c', { a: 'x' }), metadata: { name: 'c', uid: 'other' } }, W));
    expect(uid.message).toBe('ConfigMap "c" is invalid: metadata.uid: Invalid value: "other": field is immutable');
  });
});

describe('namespaces', () => {
  it('the system namespaces exist, may not be deleted; a create in a namespace that does not exist is 404', () => {
    const { registry } = setup();
    expect(registry.namespaces.list().map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system']);
    expect(refusal(() => registry.namespaces.delete(undefined, 'default', { dryRun: false }))).toMatchObject({ code: 403, message: 'namespaces "default" is forbidden: this namespace may not be deleted' });
    expect(refusal(() => registry.configmaps.create('nope', cm('c', {}), W))).toMatchObject({ code: 404, message: 'namespaces "nope" not found' });
    expect(refusal(() => registry.pods.create('nope', podManifest('p'), W))).toMatchObject({ code: 404, message: 'namespaces "nope" not found' });
  });

  it('deletion: Terminating, new content refused (403 NamespaceTerminating), pods deleted gracefully, ConfigMaps and Secrets at once, then the namespace is gone', async () => {
    const { registry, agent } = setup();
    registry.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }, W);
    registry.configmaps.create('team', cm('c', { a: '1' }), W);
    registry.secrets.create('team', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 's' }, stringData: { p: 'q' } }, W);
    registry.pods.create('team', podManifest('p'), W);
    const changes: string[] = [];
    registry.namespaces.cache.watch(String(registry.namespaces.get(undefined, 'team')?.metadata.resourceVersion), () => [], (e) => changes.push(`${e.type} ${(e.object as Obj).status?.phase}`));
    agent.deleteDelayMs = 200;
    const terminating = registry.namespaces.delete(undefined, 'team', { dryRun: false }) as Obj;
    expect(terminating.status.phase).toBe('Terminating');
    expect(terminating.metadata.deletionTimestamp).toBeDefined();
    expect(registry.configmaps.list('team')).toEqual([]);
    expect(registry.secrets.list('team')).toEqual([]);
    expect(agent.calls.filter((c) => c[0] === 'deletePod').map((c) => c[2])).toEqual(['p']);
    expect(agent.calls.some((c) => c[0] === 'removeEvents' && c[1] === 'team')).toBe(true);
    const s = refusal(() => registry.configmaps.create('team', cm('late', {}), W));
    expect(s).toMatchObject({ code: 403, reason: 'Forbidden', message: 'configmaps "late" is forbidden: unable to create new content in namespace team because it is being terminated' });
    expect(s.details.causes).toEqual([{ reason: 'NamespaceTerminating', message: 'namespace team is being terminated', field: 'metadata.namespace' }]);
    expect(registry.namespaces.get(undefined, 'team')).toBeDefined(); // its pod is still terminating
    await until(() => registry.namespaces.get(undefined, 'team') === undefined, 5000);
    expect(changes).toEqual(['MODIFIED Terminating', 'DELETED Terminating']);
  });
});

describe('ConfigMaps and Secrets', () => {
  it('immutable: data may not change and immutable may not be unset; the API server\'s messages', () => {
    const { registry } = setup();
    registry.configmaps.create('default', cm('frozen', { a: '1' }, { immutable: true }), W);
    const cur = registry.configmaps.get('default', 'frozen') as Obj;
    const s = refusal(() => registry.configmaps.update('default', 'frozen', { ...cur, data: { a: '2' } }, W));
    expect(s.message).toBe('ConfigMap "frozen" is invalid: data: Forbidden: field is immutable when `immutable` is set');
    const unset = refusal(() => registry.configmaps.update('default', 'frozen', { ...cur, immutable: false }, W));
    expect(unset.message).toContain('immutable: Forbidden: field is immutable when `immutable` is set');
  });

  it('a Secret\'s stringData is merged into data (base64) and never stored; type defaults to Opaque; its file at rest has mode 0600', () => {
    const { registry, store } = setup();
    const s = registry.secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'db' }, data: { user: Buffer.from('me').toString('base64') }, stringData: { password: 'pw' } }, W).obj as Obj;
    expect(s.data).toEqual({ user: 'bWU=', password: 'cHc=' });
    expect(s.stringData).toBeUndefined();
    expect(s.type).toBe('Opaque');
    const file = (store as unknown as { objects: { file(r: string, n: string, name: string): string } }).objects.file('secrets', 'default', 'db');
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(refusal(() => registry.secrets.create('default', { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'tls' }, type: 'kubernetes.io/tls', data: {} }, W)).message)
      .toBe('Secret "tls" is invalid: [data[tls.crt]: Required value, data[tls.key]: Required value]');
  });

  it('every stored change of a ConfigMap or Secret tells the agent, for the pods of its namespace', () => {
    const { registry, agent } = setup();
    registry.configmaps.create('default', cm('c', { a: '1' }), W);
    const cur = registry.configmaps.get('default', 'c') as Obj;
    registry.configmaps.update('default', 'c', { ...cur, data: { a: '2' } }, W);
    registry.configmaps.delete('default', 'c', { dryRun: false });
    registry.configmaps.create('default', cm('d', {}), { ...W, dryRun: true });
    expect(agent.calls.filter((c) => c[0] === 'configChanged')).toEqual([['configChanged', 'default'], ['configChanged', 'default'], ['configChanged', 'default']]);
  });
});

describe('watch caches', () => {
  it('a watch from a listed resourceVersion replays what followed; one older than the kept history is 410 Gone', () => {
    const c = new WatchCache<Obj>(10, 3);
    for (let rv = 11; rv <= 15; rv++) c.publish('MODIFIED', { metadata: { resourceVersion: String(rv) } }, rv);
    const seen: string[] = [];
    c.watch('13', () => [], (e) => seen.push(e.object.metadata.resourceVersion));
    expect(seen).toEqual(['14', '15']);
    expect(() => c.watch('11', () => [], () => {})).toThrow('too old resource version: 11 (12)');
    expect(() => c.watch('x', () => [], () => {})).toThrow('invalid resource version: x');
    c.publish('ADDED', { metadata: { resourceVersion: '16' } }, 16);
    expect(seen).toEqual(['14', '15', '16']);
  });

  it('resourceVersions grow across kinds (one counter); a ConfigMap watch sees ADDED, MODIFIED, DELETED', () => {
    const { registry } = setup();
    const seen: string[] = [];
    registry.configmaps.cache.watch('0', () => registry.configmaps.list(), (e) => seen.push(`${e.type} ${e.object.metadata.name ?? ''} ${e.object.metadata.resourceVersion ?? ''}`));
    const a = registry.configmaps.create('default', cm('a', {}), W).obj;
    const p = registry.pods.create('default', podManifest('p'), W).obj;
    registry.configmaps.update('default', 'a', { ...a, data: { k: 'v' } } as Obj, W);
    registry.configmaps.delete('default', 'a', { dryRun: false });
    expect(seen.map((x) => x.split(' ').slice(0, 2).join(' '))).toEqual(['ADDED a', 'MODIFIED a', 'DELETED a']);
    const rvs = seen.map((x) => Number(x.split(' ')[2]));
    expect(rvs[0]).toBeLessThan(Number(p.metadata.resourceVersion));
    expect(rvs[1]).toBeGreaterThan(Number(p.metadata.resourceVersion));
    expect(rvs[2]).toBeGreaterThan(rvs[1] ?? 0);
  });
});

describe('durability', () => {
  it('namespaces, ConfigMaps and Secrets survive a restart over the same store; the system namespaces are not created twice; a namespace of a stored pod is created', () => {
    const first = setup();
    first.registry.namespaces.create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'team' } }, W);
    first.registry.configmaps.create('team', cm('c', { a: '1' }), W);
    const uid = first.registry.namespaces.get(undefined, 'default')?.metadata.uid;
    first.registry.stop();
    const second = setup(first.dir);
    expect(second.registry.namespaces.list().map((n) => n.metadata.name)).toEqual(['default', 'kube-node-lease', 'kube-public', 'kube-system', 'team']);
    expect(second.registry.namespaces.get(undefined, 'default')?.metadata.uid).toBe(uid);
    expect((second.registry.configmaps.get('team', 'c') as Obj).data).toEqual({ a: '1' });
  });
});
