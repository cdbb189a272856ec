/**
 * End-to-end: `podvisor serve` driven by the real kubectl and by podvisor's own client verbs,
 * with real processes; a kill -9 crash test; restart vs recreate.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, CLI, cli, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-serve-');
/** The kubectl versions the tests drive: the machine's 1.32 and 1.35 from scripts/fetch-kubectl.sh. */
const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && process.env['CI'] === 'true') throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests (scripts/fetch-kubectl.sh)`);
}

interface Daemon {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  logs: string[];
}

async function startDaemon(dataDir: string, port: number): Promise<Daemon> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--backoff-initial', '2s', '--backoff-max', '4s'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  await until('serve /readyz', async () => (await httpsGet(port, '/readyz')).status === 200);
  return { proc, port, dataDir, logs };
}

/** A request to the daemon over HTTPS, trusting its self-signed certificate. */
function httpsGet(port: number, path: string, opts: { method?: string; token?: string; ca?: Buffer; body?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', rejectUnauthorized: opts.ca !== undefined, ...(opts.ca ? { ca: opts.ca } : {}),
      headers: { ...(opts.token ? { Authorization: `Bearer ${opts.token}` } : {}), 'Content-Type': 'application/json' } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (opts.body) req.write(opts.body);
    req.end();
  });
}

function stop(d: Daemon, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  return new Promise((resolve) => {
    if (d.proc.exitCode !== null) return resolve();
    d.proc.once('exit', () => resolve());
    d.proc.kill(signal);
  });
}

let daemon: Daemon;
let kubeconfig = '';
const pv = (args: string[]) => cli([...args, '--server', `https://127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir], { timeoutMs: 30_000 });
let KUBECTL = '';
const kubectl = (args: string[], timeoutMs = 30_000) =>
  spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${KUBECTL.length}`), ...args], { encoding: 'utf8', timeout: timeoutMs });
const api = async (path: string, method = 'GET'): Promise<any> => {
  const token = readFileSync(join(daemon.dataDir, 'token'), 'utf8').trim();
  const ca = readFileSync(join(daemon.dataDir, 'tls', 'cert.pem'));
  const r = await httpsGet(daemon.port, path, { method, token, ca });
  return JSON.parse(r.body);
};
const getPod = (name: string) => api(`/api/v1/namespaces/default/pods/${name}`);
const cs = (pod: any, name: string) => [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])].find((c: any) => c.name === name);

beforeAll(async () => {
  ensureBuilt();
  daemon = await startDaemon(join(tmp.dir, 'data'), await freePort());
  const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir]);
  expect(k.code).toBe(0);
  kubeconfig = join(tmp.dir, 'kubeconfig');
  writeFileSync(kubeconfig, k.stdout);
});

afterAll(async () => {
  if (daemon) await stop(daemon);
  tmp.cleanup();
});

const webPod = (name: string, extra = '') => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, labels: {app: web}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: c
    image: busybox:1.36
    command: ["sh", "-c", "echo hello from $HOSTNAME attempt $PODVISOR_RESTART_COUNT; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
${extra}`;

for (const k of KUBECTLS) describe.skipIf(!existsSync(k.path))(`kubectl ${k.version} against podvisor serve`, () => {
  beforeAll(() => {
    KUBECTL = k.path;
  });
  it('apply, get (table and json), logs, describe, an invalid manifest, an unknown pod, delete', async () => {
    const f = join(tmp.dir, 'web.yaml');
    writeFileSync(f, webPod('web'));
    const applied = kubectl(['apply', '-f', f]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim()).toBe('pod/web created');
    await until('web running', async () => (await getPod('web')).status?.phase === 'Running');

    const table = kubectl(['get', 'pods']);
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toMatch(/^NAME\s+READY\s+STATUS\s+RESTARTS\s+AGE$/);
    expect(lines[1]).toMatch(/^web\s+1\/1\s+Running\s+0\s+\d+s$/);

    const json = JSON.parse(kubectl(['get', 'pod', 'web', '-o', 'json']).stdout);
    expect(json.kind).toBe('Pod');
    expect(json.metadata.uid).toMatch(/^[0-9a-f-]{36}$/);
    expect(json.status.phase).toBe('Running');
    expect(json.status.containerStatuses[0]).toMatchObject({ name: 'c', ready: true, restartCount: 0 });
    expect(json.status.conditions.map((c: any) => c.type).sort()).toEqual(['ContainersReady', 'Initialized', 'PodReadyToStartContainers', 'PodScheduled', 'Ready']);

    await until('log line', () => kubectl(['logs', 'web']).stdout.includes('hello from web attempt 0'));

    const desc = kubectl(['describe', 'pod', 'web']).stdout;
    expect(desc).toMatch(/Conditions:/);
    expect(desc).toMatch(/Started\s+.*Started container c/);

    const bad = join(tmp.dir, 'bad.yaml');
    writeFileSync(bad, `apiVersion: v1\nkind: Pod\nmetadata: {name: bad}\nspec:\n  containers:\n  - name: c\n    image: busybox\n    restartPolicy: Never\n    restartPolicyRules:\n    - action: Explode\n      exitCodes: {operator: In, values: [1]}\n`);
    const inv = kubectl(['apply', '-f', bad]);
    expect(inv.status).not.toBe(0);
    expect(inv.stderr).toContain('The Pod "bad" is invalid: spec.containers[0].restartPolicyRules[0].action: Unsupported value: "Explode": supported values: "Restart", "RestartAllContainers"');

    const nf = kubectl(['get', 'pod', 'nope']);
    expect(nf.stderr.trim()).toBe('Error from server (NotFound): pods "nope" not found');

    const del = kubectl(['delete', 'pod', 'web'], 60_000);
    expect(del.stdout.trim()).toMatch(/^pod "web" deleted( from default namespace)?$/);
    expect(kubectl(['get', 'pod', 'web']).stderr).toContain('NotFound');
  });

  it('get pods -w sees a restart', async () => {
    const f = join(tmp.dir, 'watched.yaml');
    writeFileSync(f, webPod('watched'));
    expect(kubectl(['apply', '-f', f]).status).toBe(0);
    await until('running', async () => (await getPod('watched')).status?.phase === 'Running');
    const w = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${KUBECTL.length}`), 'get', 'pods', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let seen = '';
    w.stdout?.on('data', (d: Buffer) => (seen += d.toString()));
    try {
      await until('watch printed the pod', () => seen.includes('watched'));
      expect((await pv(['restart', 'pod', 'watched', '-c', 'c'])).code).toBe(0);
      await until('watch shows restart 1', () => /watched\s+\S+\s+\S+\s+1 \(/.test(seen), 20_000);
    } finally {
      w.kill('SIGKILL');
    }
    await until('new instance logged', () => kubectl(['logs', 'watched']).stdout.includes('attempt 1'));
    expect(kubectl(['logs', 'watched', '--previous']).stdout).toContain('hello from watched attempt 0');
    expect((await pv(['delete', 'pod', 'watched', '--grace-period', '0'])).code).toBe(0);
  });
});

describe('podvisor client verbs: restart in place versus re-create', () => {
  const volPod = `
apiVersion: v1
kind: Pod
metadata: {name: levels}
spec:
  terminationGracePeriodSeconds: 1
  volumes: [{name: work, emptyDir: {}}]
  initContainers:
  - name: init
    image: busybox:1.36
    command: ["sh", "-c", "echo init >> /tmp/podvisor-e2e-levels/runs"]
    volumeMounts: [{name: work, mountPath: /tmp/podvisor-e2e-levels}]
  containers:
  - name: app
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 0.1; done"]
    volumeMounts: [{name: work, mountPath: /tmp/podvisor-e2e-levels}]
`;
  it.skipIf(process.getuid?.() !== 0 && process.env['CI'] !== 'true')('restart keeps UID and emptyDir and re-runs init; recreate gets a new UID and an empty emptyDir', async () => {
    const f = join(tmp.dir, 'levels.yaml');
    writeFileSync(f, volPod);
    const a = await pv(['apply', '-f', f]);
    expect(a.stdout.trim(), a.stderr).toBe('pod/levels created');
    const first = await until('running', async () => { const p = await getPod('levels'); return p.status?.phase === 'Running' ? p : undefined; });
    const uid = first.metadata.uid as string;
    const runs = () => readFileSync(join(daemon.dataDir, 'runtime', 'pods', uid, 'volumes', 'work', 'runs'), 'utf8').trim().split('\n').length;
    expect(runs()).toBe(1);

    expect((await pv(['restart', 'pod', 'levels'])).code).toBe(0);
    const restarted = await until('restarted in place', async () => { const p = await getPod('levels'); return cs(p, 'app')?.restartCount === 1 && cs(p, 'app')?.state?.running ? p : undefined; });
    expect(restarted.metadata.uid).toBe(uid);
    expect(runs()).toBe(2); // init re-ran, the emptyDir kept the first line
    expect(cs(restarted, 'init').restartCount).toBe(1);
    const cond = restarted.status.conditions.find((c: any) => c.type === 'AllContainersRestarting');
    expect(cond?.status).toBe('False');

    const single = await pv(['restart', 'pod', 'levels', '-c', 'app']);
    expect(single.code).toBe(0);
    await until('container restarted', async () => cs(await getPod('levels'), 'app')?.restartCount === 2);
    expect(runs()).toBe(2); // a container restart does not re-run init

    expect((await pv(['recreate', 'pod', 'levels'])).code).toBe(0);
    const fresh = await until('re-created', async () => { const p = await getPod('levels'); return p.metadata?.uid !== uid && p.status?.phase === 'Running' ? p : undefined; });
    expect(fresh.metadata.annotations?.['podvisor.io/recreations']).toBe('1');
    expect(cs(fresh, 'app').restartCount).toBe(0);
    const freshRuns = readFileSync(join(daemon.dataDir, 'runtime', 'pods', fresh.metadata.uid, 'volumes', 'work', 'runs'), 'utf8').trim().split('\n');
    expect(freshRuns).toEqual(['init']); // a fresh emptyDir

    const desc = await pv(['describe', 'pod', 'levels']);
    expect(desc.stdout).toContain('Restarts:');
    const refused = await pv(['restart', 'pod', 'levels', '-c', 'init']);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain('cannot restart container init: init container');
    expect((await pv(['delete', 'pod', 'levels'])).code).toBe(0);
  });
});

describe('events', () => {
  it('a repeated event is counted (count, first and last timestamp); describe shows (xN over AGE)', async () => {
    const f = join(tmp.dir, 'flapper.yaml');
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata: {name: flapper}
spec:
  containers:
  - {name: c, image: busybox:1.36, command: ["sh", "-c", "exit 1"]}
`);
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    const backOff = await until('BackOff counted twice', async () => {
      const list = await api('/api/v1/namespaces/default/events');
      return list.items.find((e: any) => e.involvedObject.name === 'flapper' && e.reason === 'BackOff' && e.count >= 2);
    });
    expect(backOff.message).toBe('Back-off restarting failed container c in pod flapper_default(' + (await getPod('flapper')).metadata.uid + ')');
    expect(Date.parse(backOff.lastTimestamp)).toBeGreaterThanOrEqual(Date.parse(backOff.firstTimestamp));
    const list = await api('/api/v1/namespaces/default/events');
    expect(list.items.filter((e: any) => e.involvedObject.name === 'flapper' && e.reason === 'BackOff')).toHaveLength(1);
    expect((await pv(['describe', 'pod', 'flapper'])).stdout).toMatch(/BackOff\s+\S+ \(x\d+ over \S+\)\s+podvisor\s+Back-off restarting failed container c/);
    const k = KUBECTLS.find((x) => existsSync(x.path));
    if (k) {
      KUBECTL = k.path;
      expect(kubectl(['describe', 'pod', 'flapper']).stdout).toMatch(/BackOff\s+\S+ \(x\d+ over \S+\)\s+\S+\s+Back-off restarting failed container c/);
    }
    expect((await pv(['delete', 'pod', 'flapper', '--grace-period', '0'])).code).toBe(0);
  });
});

describe('crash safety: kill -9 of the daemon', () => {
  it('keeps pods, UIDs and restart counts (never reset), and leaves no orphan after delete', async () => {
    const f = join(tmp.dir, 'crash.yaml');
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata: {name: crashloop}
spec:
  containers:
  - {name: c, image: busybox:1.36, command: ["sh", "-c", "exit 1"]}
---
apiVersion: v1
kind: Pod
metadata: {name: resetting}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: src
    image: busybox:1.36
    restartPolicy: Never
    restartPolicyRules: [{action: RestartAllContainers, exitCodes: {operator: In, values: [42]}}]
    command: ["sh", "-c", "sleep 0.5; exit 42"]
  - name: sleeper
    image: busybox:1.36
    command: ["sh", "-c", "echo $$ >> ${join(tmp.dir, 'sleeper-pids')}; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
`);
    expect((await pv(['apply', '-f', f])).code).toBe(0);
    await until('crashloop in back-off', async () => cs(await getPod('crashloop'), 'c')?.state?.waiting?.reason === 'CrashLoopBackOff');
    await until('resetting restarted once', async () => (cs(await getPod('resetting'), 'sleeper')?.restartCount ?? 0) >= 1);
    const before = { crash: await getPod('crashloop'), reset: await getPod('resetting') };
    await stop(daemon, 'SIGKILL');
    daemon = await startDaemon(daemon.dataDir, daemon.port);
    const after = { crash: await getPod('crashloop'), reset: await getPod('resetting') };
    expect(after.crash.metadata.uid).toBe(before.crash.metadata.uid);
    expect(after.reset.metadata.uid).toBe(before.reset.metadata.uid);
    expect(cs(after.crash, 'c').restartCount).toBeGreaterThanOrEqual(cs(before.crash, 'c').restartCount);
    for (const n of ['src', 'sleeper']) expect(cs(after.reset, n).restartCount).toBeGreaterThanOrEqual(cs(before.reset, n).restartCount);
    await until('resetting runs again', async () => cs(await getPod('resetting'), 'sleeper')?.state?.running !== undefined);
    const del = await pv(['delete', 'pod', 'resetting']).catch(async (e: Error) => {
      throw new Error(`${e.message}\n--- pod now ---\n${JSON.stringify(await getPod('resetting')).slice(0, 3000)}\n--- daemon log ---\n${daemon.logs.join('').split('\n').filter((l) => !l.includes('"level":20')).slice(-40).join('\n')}`);
    });
    expect(del.code).toBe(0);
    expect((await pv(['delete', 'pod', 'crashloop', '--grace-period', '0'])).code).toBe(0);
    const pids = readFileSync(join(tmp.dir, 'sleeper-pids'), 'utf8').trim().split('\n').map(Number);
    await until('no orphan', () => pids.every((p) => !alive(p)), 10_000);
    const list = await api('/api/v1/namespaces/default/pods');
    expect(list.items.map((p: any) => p.metadata.name)).not.toContain('resetting');
  });
});

describe('@kubernetes/client-node against podvisor serve', () => {
  it('creates, lists, watches and reads the logs of a pod', async () => {
    const k8s = await import('@kubernetes/client-node');
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const seen: string[] = [];
    const watch = new k8s.Watch(kc);
    const req = await watch.watch('/api/v1/namespaces/default/pods', {}, (type: string, obj: any) => {
      if (obj?.metadata?.name === 'js-client') seen.push(`${type}:${obj.status?.phase ?? ''}`);
    }, () => {});
    try {
      const created = await core.createNamespacedPod({
        namespace: 'default',
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'js-client' }, spec: { containers: [{ name: 'c', image: 'busybox:1.36', command: ['sh', '-c', 'echo from the js client; sleep 100'] }] } },
      });
      expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);
      const list = await core.listNamespacedPod({ namespace: 'default' });
      expect(list.items.map((p) => p.metadata?.name)).toContain('js-client');
      await until('running seen by the watch', () => seen.includes('MODIFIED:Running'));
      await until('log', async () => (await core.readNamespacedPodLog({ name: 'js-client', namespace: 'default', container: 'c' })).includes('from the js client'));
      await core.deleteNamespacedPod({ name: 'js-client', namespace: 'default', gracePeriodSeconds: 0 });
      await until('deleted seen by the watch', () => seen.some((s) => s.startsWith('DELETED')));
    } finally {
      req.abort();
    }
  });
});
