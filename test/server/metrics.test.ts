/**
 * The resource metrics API (`metrics.k8s.io/v1beta1`, what `kubectl top` reads) and the one
 * core/v1 Node, through the real registry and a fake agent whose usage the tests script:
 * discovery, metrics-server's shapes and quantities, label and field selectors, 404s as
 * metrics-server words them, Tables, and no watch.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { PodUsage } from '../../src/agent/node-api.js';
import { podManifest, startApi, type TestApi } from './helpers.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const json = async (r: Response): Promise<Obj> => (await r.json()) as Obj;
const M = '/apis/metrics.k8s.io/v1beta1';
const TABLE = 'application/json;as=Table;v=v1;g=meta.k8s.io,application/json';

let api: TestApi;
beforeEach(async () => {
  api = await startApi();
});
afterEach(async () => {
  await api.close();
});

async function createPod(manifest: Record<string, unknown>, namespace = 'default'): Promise<void> {
  const r = await api.req(`/api/v1/namespaces/${namespace}/pods`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(manifest) });
  expect(r.status, await r.clone().text()).toBe(201);
}

async function createNamespace(name: string): Promise<void> {
  const r = await api.req('/api/v1/namespaces', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }) });
  expect(r.status).toBe(201);
}

const T = Date.parse('2026-11-22T12:00:10Z');
const usage = (namespace: string, name: string, containers: PodUsage['containers'], windowMs = 10_123): PodUsage => ({ namespace, name, timestamp: T, windowMs, containers });

describe('metrics.k8s.io discovery', () => {
  it('lists the group with pods (namespaced) and nodes, get and list, and core/v1 nodes', async () => {
    const groups = await json(await api.req('/apis'));
    expect(groups.groups.find((g: Obj) => g.name === 'metrics.k8s.io')).toEqual({
      name: 'metrics.k8s.io', versions: [{ groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' }], preferredVersion: { groupVersion: 'metrics.k8s.io/v1beta1', version: 'v1beta1' },
    });
    expect((await json(await api.req('/apis/metrics.k8s.io'))).kind).toBe('APIGroup');
    const list = await json(await api.req(M));
    expect(list).toMatchObject({ kind: 'APIResourceList', groupVersion: 'metrics.k8s.io/v1beta1' });
    expect(list.resources).toEqual([
      { name: 'nodes', singularName: '', namespaced: false, kind: 'NodeMetrics', verbs: ['get', 'list'] },
      { name: 'pods', singularName: '', namespaced: true, kind: 'PodMetrics', verbs: ['get', 'list'] },
    ]);
    const core = await json(await api.req('/api/v1'));
    // Without core nodes, `kubectl get nodes` would resolve to the metrics resource.
    expect(core.resources.find((r: Obj) => r.name === 'nodes')).toEqual({ name: 'nodes', singularName: 'node', namespaced: false, kind: 'Node', verbs: ['get', 'list'], shortNames: ['no'] });
  });
});

describe('PodMetrics', () => {
  beforeEach(async () => {
    await createNamespace('team');
    await createPod(podManifest('busy', { labels: { app: 'top', load: 'busy' }, containers: ['burn', 'side'] }));
    await createPod(podManifest('idle', { labels: { app: 'top', load: 'idle' } }));
    await createPod(podManifest('other', { namespace: 'team' }), 'team');
    api.fake.podUsage = [
      usage('default', 'busy', [{ name: 'burn', cpuNanoCores: 987654321, memoryWorkingSetBytes: 2 * 1024 * 1024 }, { name: 'side', cpuNanoCores: 0, memoryWorkingSetBytes: 1000 }]),
      usage('default', 'idle', [{ name: 'main', cpuNanoCores: 12345, memoryWorkingSetBytes: 4096 }]),
      usage('team', 'other', [{ name: 'main', cpuNanoCores: 1, memoryWorkingSetBytes: 0 }], 200),
      usage('default', 'gone', [{ name: 'main', cpuNanoCores: 1, memoryWorkingSetBytes: 4096 }]), // deleted since: left out
    ];
  });

  it('lists a namespace\'s pods as metrics-server does: labels, timestamp, window, nanocores and Ki', async () => {
    const list = await json(await api.req(`${M}/namespaces/default/pods`));
    expect(list).toMatchObject({ kind: 'PodMetricsList', apiVersion: 'metrics.k8s.io/v1beta1' });
    expect(list.items.map((i: Obj) => i.metadata.name)).toEqual(['busy', 'idle']);
    const busy = list.items[0] as Obj;
    expect(busy).toMatchObject({
      kind: 'PodMetrics', apiVersion: 'metrics.k8s.io/v1beta1',
      metadata: { name: 'busy', namespace: 'default', labels: { app: 'top', load: 'busy' } },
      timestamp: '2026-11-22T12:00:10Z', window: '10.123s',
      containers: [{ name: 'burn', usage: { cpu: '987654321n', memory: '2048Ki' } }, { name: 'side', usage: { cpu: '0n', memory: '1000' } }],
    });
    expect(busy.metadata.creationTimestamp).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(api.fake.calls).toContainEqual(['podMetrics', 'default']);
  });

  it('lists every namespace, and selects by label and by name', async () => {
    const all = await json(await api.req(`${M}/pods`));
    expect(all.items.map((i: Obj) => `${i.metadata.namespace}/${i.metadata.name}`)).toEqual(['default/busy', 'default/idle', 'team/other']);
    expect(all.items[2].window).toBe('200ms');
    const busy = await json(await api.req(`${M}/namespaces/default/pods?labelSelector=${encodeURIComponent('load=busy')}`));
    expect(busy.items.map((i: Obj) => i.metadata.name)).toEqual(['busy']);
    const notBusy = await json(await api.req(`${M}/pods?labelSelector=${encodeURIComponent('app=top,load!=busy')}`));
    expect(notBusy.items.map((i: Obj) => i.metadata.name)).toEqual(['idle']);
    const byName = await json(await api.req(`${M}/pods?fieldSelector=${encodeURIComponent('metadata.name=other')}`));
    expect(byName.items.map((i: Obj) => i.metadata.name)).toEqual(['other']);
    expect((await api.req(`${M}/pods?labelSelector=${encodeURIComponent('a in (')}`)).status).toBe(400);
    expect((await api.req(`${M}/pods?fieldSelector=spec.nodeName%3Dx`)).status).toBe(400);
  });

  it('gets one pod; a pod without metrics, an unknown one or a bad name is NotFound as metrics-server says it', async () => {
    const one = await json(await api.req(`${M}/namespaces/default/pods/idle`));
    expect(one).toMatchObject({ kind: 'PodMetrics', metadata: { name: 'idle', namespace: 'default' }, containers: [{ name: 'main', usage: { cpu: '12345n', memory: '4Ki' } }] });
    api.fake.podUsage = api.fake.podUsage.filter((u) => u.name !== 'idle');
    for (const name of ['idle', 'nope', 'Bad_Name']) {
      const r = await api.req(`${M}/namespaces/default/pods/${name}`);
      expect(r.status).toBe(404);
      expect(await json(r)).toMatchObject({ kind: 'Status', reason: 'NotFound', message: `podmetrics.metrics.k8s.io "default/${name}" not found` });
    }
  });

  it('prints a Table (kubectl get podmetrics): the pod\'s total CPU and memory and the window', async () => {
    const t = await json(await api.req(`${M}/namespaces/default/pods`, { headers: { accept: TABLE } }));
    expect(t.kind).toBe('Table');
    expect(t.columnDefinitions.map((c: Obj) => c.name)).toEqual(['Name', 'CPU', 'Memory', 'Window', 'Age']);
    expect(t.rows[0].cells.slice(0, 4)).toEqual(['busy', '987654321n', String(2 * 1024 * 1024 + 1000), '10.123s']);
  });

  it('cannot be watched or written', async () => {
    expect((await api.req(`${M}/namespaces/default/pods?watch=true`)).status).toBe(405);
    expect((await api.req(`${M}/namespaces/default/pods`, { method: 'POST', body: '{}' })).status).toBe(405);
  });

  it('is an empty list when nothing runs with usage', async () => {
    api.fake.podUsage = [];
    expect((await json(await api.req(`${M}/namespaces/default/pods`))).items).toEqual([]);
  });
});

describe('NodeMetrics and the Node', () => {
  it('serves the node\'s usage with the Node\'s labels; none yet is an empty list and a 404', async () => {
    expect((await json(await api.req(`${M}/nodes`))).items).toEqual([]);
    expect((await api.req(`${M}/nodes/podvisor`)).status).toBe(404);
    api.fake.nodeUsage = { name: 'podvisor', timestamp: T, windowMs: 200, cpuNanoCores: 1_500_000_000, memoryWorkingSetBytes: 3 * 1024 ** 3 };
    const list = await json(await api.req(`${M}/nodes`));
    expect(list).toMatchObject({ kind: 'NodeMetricsList', apiVersion: 'metrics.k8s.io/v1beta1' });
    expect(list.items).toHaveLength(1);
    expect(list.items[0]).toMatchObject({
      kind: 'NodeMetrics', metadata: { name: 'podvisor', labels: { 'kubernetes.io/hostname': 'podvisor', 'kubernetes.io/os': 'linux' } },
      timestamp: '2026-11-22T12:00:10Z', window: '200ms', usage: { cpu: '1500000000n', memory: '3145728Ki' },
    });
    expect(await json(await api.req(`${M}/nodes/podvisor`))).toMatchObject({ kind: 'NodeMetrics', usage: { cpu: '1500000000n' } });
    const other = await api.req(`${M}/nodes/elsewhere`);
    expect(other.status).toBe(404);
    expect((await json(other)).message).toBe('nodemetrics.metrics.k8s.io "elsewhere" not found');
    expect((await json(await api.req(`${M}/nodes?labelSelector=kubernetes.io%2Fos%3Dlinux`))).items).toHaveLength(1);
    expect((await json(await api.req(`${M}/nodes?labelSelector=kubernetes.io%2Fos%3Dplan9`))).items).toHaveLength(0);
  });

  it('serves the one Node with its allocatable resources (what kubectl top node divides by), as a list, by name and as a Table', async () => {
    const list = await json(await api.req('/api/v1/nodes'));
    expect(list).toMatchObject({ kind: 'NodeList', apiVersion: 'v1' });
    expect(list.items).toHaveLength(1);
    const node = list.items[0] as Obj;
    expect(node).toMatchObject({
      kind: 'Node', apiVersion: 'v1', metadata: { name: 'podvisor', creationTimestamp: '2026-01-01T00:00:00Z', labels: { 'kubernetes.io/hostname': 'podvisor' } },
      status: {
        capacity: { cpu: '2', memory: '4Gi', pods: '110' }, allocatable: { cpu: '2', memory: '4Gi', pods: '110' },
        conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady' }],
        addresses: [{ type: 'InternalIP', address: '127.0.0.1' }, { type: 'Hostname', address: 'podvisor' }],
        nodeInfo: { kubeletVersion: 'v1.36.0-podvisor', containerRuntimeVersion: 'host://podvisor', operatingSystem: 'linux' },
      },
    });
    expect(await json(await api.req('/api/v1/nodes/podvisor'))).toMatchObject({ kind: 'Node', metadata: { name: 'podvisor' } });
    const missing = await api.req('/api/v1/nodes/other');
    expect(missing.status).toBe(404);
    expect((await json(missing)).message).toBe('nodes "other" not found');
    expect((await json(await api.req('/api/v1/nodes?labelSelector=role%3Dnone'))).items).toEqual([]);
    const t = await json(await api.req('/api/v1/nodes', { headers: { accept: TABLE } }));
    expect(t.columnDefinitions.map((c: Obj) => c.name)).toEqual(['Name', 'Status', 'Roles', 'Age', 'Version']);
    expect(t.rows[0].cells[0]).toBe('podvisor');
    expect(t.rows[0].cells.slice(1, 3)).toEqual(['Ready', '<none>']);
    expect(t.rows[0].cells[4]).toBe('v1.36.0-podvisor');
    expect((await api.req('/api/v1/nodes', { method: 'DELETE' })).status).toBe(405);
    expect((await api.req('/api/v1/nodes?watch=1')).status).toBe(405);
  });
});
