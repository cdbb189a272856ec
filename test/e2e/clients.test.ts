/**
 * End-to-end: the two client libraries users reach podvisor with, against the built
 * `podvisor serve` (host runtime, real processes): `@kubernetes/client-node` and Debian's
 * `python3-kubernetes`. Each drives the calls the libraries are used for: a watch with the
 * library's own call, a followed log that must deliver a line written after the request
 * started, and read-modify-write `replace` of a Pod and a ConfigMap (the object read back,
 * changed and sent whole, with the library's own spelling of timestamps and booleans). With
 * client-node also a namespace's life: created, deleted (Terminating while its pod stops),
 * gone.
 *
 * Python's client spells query booleans `True` (`watch=True`, `follow=True`); both once made
 * the server answer a plain list or a plain read, so the watch and the follow returned nothing
 * new. Under CI=true a missing python3-kubernetes fails this file (`.ci/run` installs it).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { ApiException, CoreV1Api, KubeConfig, Log, Watch, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, daemonRequest, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

/**
 * A Python interpreter that has the `kubernetes` module: `$PYTHON`, then Debian's own
 * (`/usr/bin/python3`, where python3-kubernetes installs; a pyenv or venv `python3` earlier on
 * the PATH usually lacks it), then `python3`.
 */
function findPython(): string | undefined {
  for (const p of [process.env['PYTHON'], '/usr/bin/python3', 'python3']) {
    if (!p) continue;
    const r = spawnSync(p, ['-c', 'import kubernetes'], { encoding: 'utf8', timeout: 30_000 });
    if (r.status === 0) return p;
  }
  return undefined;
}

const PYTHON = findPython();
if (PYTHON === undefined && process.env['CI'] === 'true') {
  throw new Error('python3-kubernetes not found (no python3 can import kubernetes): CI must run the Python client tests (.ci/run installs python3-kubernetes)');
}

const tmp = tempDir('podvisor-clients-');

interface Daemon {
  proc: ChildProcess;
  port: number;
  dataDir: string;
  logs: string[];
}

let daemon: Daemon;
let kubeconfig = '';

async function startDaemon(dataDir: string, port: number): Promise<Daemon> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  // The token and certificate exist once the daemon answers; until then the request throws.
  await until('serve /readyz', async () => (await daemonRequest(dataDir, port, '/readyz', { auth: false })).status === 200);
  return { proc, port, dataDir, logs };
}

function stopDaemon(d: Daemon): Promise<void> {
  return new Promise((resolve) => {
    if (d.proc.exitCode !== null || d.proc.signalCode !== null) return resolve();
    d.proc.once('exit', () => resolve());
    d.proc.kill('SIGTERM');
  });
}

/** The daemon's request log lines for a path (what a failing client sent and got), for failure messages. */
function requestLog(pathPart: string): string {
  return daemon.logs.join('').split('\n').filter((l) => l.includes('"http request"') && l.includes(pathPart)).slice(-20).join('\n');
}

/**
 * A container that writes `line 1` to `line 3` at once, then `line 4` only once `trigger`
 * exists: a followed log must deliver a line written after the request started.
 */
const loggingCommand = (trigger: string): string[] =>
  ['sh', '-c', `for i in 1 2 3; do echo line $i; sleep 0.2; done; while [ ! -e '${trigger}' ]; do sleep 0.05; done; echo line 4; exec sleep 3600`];

beforeAll(async () => {
  ensureBuilt();
  daemon = await startDaemon(join(tmp.dir, 'data'), await freePort());
  const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${daemon.port}`, '--data-dir', daemon.dataDir]);
  expect(k.code, k.stderr).toBe(0);
  kubeconfig = join(tmp.dir, 'kubeconfig');
  writeFileSync(kubeconfig, k.stdout);
});

afterAll(async () => {
  if (daemon) await stopDaemon(daemon);
  tmp.cleanup();
});

/** The status code of a client-node failure (ApiException), or rethrows anything else. */
async function codeOf(p: Promise<unknown>): Promise<number> {
  try {
    await p;
    return 200;
  } catch (e) {
    if (e instanceof ApiException) return e.code;
    throw e;
  }
}

describe('@kubernetes/client-node against podvisor serve', () => {
  let kc: KubeConfig;
  let core: CoreV1Api;

  beforeAll(() => {
    kc = new KubeConfig();
    kc.loadFromFile(kubeconfig);
    core = kc.makeApiClient(CoreV1Api);
  });

  it('Watch sees ADDED and MODIFIED, Log follows lines as they are written, read-modify-write replaceNamespacedPod changes a label', async () => {
    const name = 'js-pod';
    const trigger = join(tmp.dir, 'js-trigger');
    const events: { type: string; phase: string; labels: Record<string, string> }[] = [];
    let watchEnded: unknown = false;
    const watch = await new Watch(kc).watch('/api/v1/namespaces/default/pods', { fieldSelector: `metadata.name=${name}` }, (type: string, obj: V1Pod) => {
      events.push({ type, phase: obj.status?.phase ?? '', labels: obj.metadata?.labels ?? {} });
    }, (err: unknown) => {
      watchEnded = err ?? true;
    });
    const logStream = new PassThrough();
    let logged = '';
    let logEnded = false;
    logStream.on('data', (d: Buffer) => (logged += d.toString()));
    logStream.on('end', () => (logEnded = true));
    let follow: AbortController | undefined;
    try {
      const created = await core.createNamespacedPod({
        namespace: 'default',
        body: { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels: { client: 'js' } }, spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox:1.36', command: loggingCommand(trigger) }] } },
      });
      expect(created.metadata?.uid).toMatch(/^[0-9a-f-]{36}$/);

      // The library's Watch: the pod's creation, then its changes (the container starting).
      await until('ADDED and MODIFIED (Running) seen by the Watch', () => events.some((e) => e.type === 'ADDED') && events.some((e) => e.type === 'MODIFIED' && e.phase === 'Running'), 30_000)
        .catch((e: unknown) => { throw new Error(`${String(e)}; events: ${JSON.stringify(events)}; watch ended: ${String(watchEnded)}\n${requestLog('/pods')}`); });
      expect(events[0]?.type).toBe('ADDED');
      expect(events.every((e) => e.labels['client'] === 'js')).toBe(true);

      // The library's Log with follow: the lines written so far, then one written after the request.
      follow = await new Log(kc).log('default', name, 'c', logStream, { follow: true });
      await until('lines 1-3 on the followed log', () => logged.includes('line 3\n'), 20_000)
        .catch((e: unknown) => { throw new Error(`${String(e)}; got ${JSON.stringify(logged)}, ended: ${logEnded}\n${requestLog('/log')}`); });
      expect(logEnded).toBe(false);
      writeFileSync(trigger, '');
      await until('line 4 (written after the follow started) on the followed log', () => logged.includes('line 4\n'), 20_000)
        .catch((e: unknown) => { throw new Error(`${String(e)}; got ${JSON.stringify(logged)}, ended: ${logEnded}\n${requestLog('/log')}`); });
      expect(logged).toBe('line 1\nline 2\nline 3\nline 4\n');
      expect(logEnded).toBe(false); // still following: the container runs

      // Read-modify-write: the object as read (timestamps re-serialised by the library), a label changed.
      const cur = await core.readNamespacedPod({ name, namespace: 'default' });
      cur.metadata = { ...cur.metadata, labels: { ...cur.metadata?.labels, stage: 'replaced' } };
      let replaced: V1Pod;
      try {
        replaced = await core.replaceNamespacedPod({ name, namespace: 'default', body: cur });
      } catch (e) {
        throw new Error(`replaceNamespacedPod failed: ${e instanceof ApiException ? `${e.code} ${String(e.body)}` : String(e)}\n${requestLog(`/pods/${name}`)}`, { cause: e });
      }
      expect(replaced.metadata?.labels).toEqual({ client: 'js', stage: 'replaced' });
      expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
      expect(replaced.metadata?.creationTimestamp?.getTime()).toBe(created.metadata?.creationTimestamp?.getTime());
      expect(Number(replaced.metadata?.resourceVersion)).toBeGreaterThan(Number(cur.metadata.resourceVersion));
      const after = await core.readNamespacedPod({ name, namespace: 'default' });
      expect(after.metadata?.labels).toEqual({ client: 'js', stage: 'replaced' });
      expect(after.spec?.containers[0]?.command).toEqual(loggingCommand(trigger));
      await until('the Watch sees the label change', () => events.some((e) => e.type === 'MODIFIED' && e.labels['stage'] === 'replaced'), 10_000);

      // The optimistic lock still holds for a stale read.
      expect(await codeOf(core.replaceNamespacedPod({ name, namespace: 'default', body: cur }))).toBe(409);

      await core.deleteNamespacedPod({ name, namespace: 'default', gracePeriodSeconds: 0 });
      await until('DELETED seen by the Watch', () => events.some((e) => e.type === 'DELETED'), 30_000);
      expect(watchEnded).toBe(false);
    } finally {
      follow?.abort();
      watch.abort();
    }
  });

  it('read-modify-write replaceNamespacedConfigMap changes the data', async () => {
    const name = 'js-config';
    const created = await core.createNamespacedConfigMap({ namespace: 'default', body: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, labels: { client: 'js' } }, data: { greeting: 'hello', keep: 'kept' } } });
    expect(created.data).toEqual({ greeting: 'hello', keep: 'kept' });
    const cur = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    cur.data = { ...cur.data, greeting: 'bonjour' };
    let replaced;
    try {
      replaced = await core.replaceNamespacedConfigMap({ name, namespace: 'default', body: cur });
    } catch (e) {
      throw new Error(`replaceNamespacedConfigMap failed: ${e instanceof ApiException ? `${e.code} ${String(e.body)}` : String(e)}\n${requestLog(`/configmaps/${name}`)}`, { cause: e });
    }
    expect(replaced.data).toEqual({ greeting: 'bonjour', keep: 'kept' });
    expect(replaced.metadata?.uid).toBe(created.metadata?.uid);
    expect(replaced.metadata?.creationTimestamp?.getTime()).toBe(created.metadata?.creationTimestamp?.getTime());
    expect(replaced.metadata?.labels).toEqual({ client: 'js' });
    const after = await core.readNamespacedConfigMap({ name, namespace: 'default' });
    expect(after.data).toEqual({ greeting: 'bonjour', keep: 'kept' });
    expect(await codeOf(core.replaceNamespacedConfigMap({ name, namespace: 'default', body: cur }))).toBe(409);
    await core.deleteNamespacedConfigMap({ name, namespace: 'default' });
    expect(await codeOf(core.readNamespacedConfigMap({ name, namespace: 'default' }))).toBe(404);
  });

  it('createNamespace, deleteNamespace: Terminating while its pod stops, then gone', async () => {
    const ns = 'js-ns';
    const created = await core.createNamespace({ body: { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } } });
    expect(created.metadata?.name).toBe(ns);
    expect(created.status?.phase).toBe('Active');
    // A pod that takes a moment to stop keeps the namespace Terminating meanwhile.
    await core.createNamespacedPod({
      namespace: ns,
      body: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'slow-stop' }, spec: { terminationGracePeriodSeconds: 10, containers: [{ name: 'c', image: 'busybox:1.36', command: ['sh', '-c', "trap 'sleep 1; exit 0' TERM; while true; do sleep 0.1; done"] }] } },
    });
    await until('the pod runs', async () => (await core.readNamespacedPod({ name: 'slow-stop', namespace: ns })).status?.phase === 'Running', 30_000);
    await core.deleteNamespace({ name: ns });
    const terminating = await core.readNamespace({ name: ns });
    expect(terminating.status?.phase).toBe('Terminating');
    expect(terminating.metadata?.deletionTimestamp).toBeInstanceOf(Date);
    // No new content in a terminating namespace (403), as from the API server.
    expect(await codeOf(core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'late' }, data: {} } }))).toBe(403);
    await until('the namespace is gone', async () => (await codeOf(core.readNamespace({ name: ns }))) === 404, 30_000);
    const names = (await core.listNamespace()).items.map((n) => n.metadata?.name);
    expect(names).not.toContain(ns);
    expect(names).toContain('default');
  });
});

/**
 * The Python side, run with the python3-kubernetes library: prints one JSON object with what
 * came back from each call (or, on a failure, the step, status and body of the refused call).
 */
const PYTHON_SCRIPT = String.raw`
import json, os, sys, traceback
from kubernetes import client, config, watch
from kubernetes.client.rest import ApiException

args = json.loads(sys.argv[1])
ns, pod_name, cm_name, trigger = args['namespace'], args['pod'], args['configmap'], args['trigger']
config.load_kube_config(config_file=args['kubeconfig'])
v1 = client.CoreV1Api()
out = {'step': 'start'}

def labels_of(o):
    return dict(o.metadata.labels or {})

try:
    out['step'] = 'create pod'
    created = v1.create_namespaced_pod(ns, {
        'apiVersion': 'v1', 'kind': 'Pod',
        'metadata': {'name': pod_name, 'labels': {'client': 'python'}},
        'spec': {'terminationGracePeriodSeconds': 1, 'containers': [{'name': 'c', 'image': 'busybox:1.36', 'command': args['command']}]},
    })
    out['created'] = {'uid': created.metadata.uid, 'creationTimestamp': created.metadata.creation_timestamp.isoformat()}

    # The library's watch: the pod as it is (ADDED), then its changes. After the first event
    # the pod is replaced, read-modify-write, with a changed label.
    out['step'] = 'watch'
    events = []
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_pod, ns, field_selector='metadata.name=' + pod_name, timeout_seconds=30):
        o = ev['object']
        events.append({'type': ev['type'], 'phase': o.status.phase if o.status else None, 'labels': labels_of(o)})
        if 'replaced' not in out:
            out['step'] = 'replace pod'
            cur = v1.read_namespaced_pod(pod_name, ns)
            cur.metadata.labels = dict(labels_of(cur), stage='replaced')
            rep = v1.replace_namespaced_pod(pod_name, ns, cur)
            out['replaced'] = {'labels': labels_of(rep), 'uid': rep.metadata.uid, 'creationTimestamp': rep.metadata.creation_timestamp.isoformat()}
            out['step'] = 'watch'
        if ev['type'] == 'MODIFIED' and o.status.phase == 'Running' and labels_of(o).get('stage') == 'replaced':
            w.stop()
    out['events'] = events
    out['afterReplace'] = labels_of(v1.read_namespaced_pod(pod_name, ns))

    # The followed log: lines 1-3, then line 4, which the container writes only once the
    # trigger exists (created here, after lines 1-3 came).
    out['step'] = 'log follow'
    resp = v1.read_namespaced_pod_log(pod_name, ns, container='c', follow=True, _preload_content=False, _request_timeout=30)
    got = ''
    triggered = False
    for chunk in resp.stream(1024):
        got += chunk.decode('utf-8')
        if not triggered and 'line 3\n' in got:
            open(trigger, 'w').close()
            triggered = True
        if 'line 4\n' in got:
            break
    resp.close()
    out['log'] = got
    out['triggered'] = triggered

    # The library's own way to follow a log: Watch().stream over read_namespaced_pod_log,
    # which asks for follow=True and yields lines.
    out['step'] = 'log follow (watch)'
    lines = []
    w = watch.Watch()
    for line in w.stream(v1.read_namespaced_pod_log, pod_name, ns, container='c', _request_timeout=30):
        lines.append(line)
        if line == 'line 4':
            w.stop()
    out['watchedLog'] = lines

    out['step'] = 'configmap'
    listed_rv = v1.list_namespaced_config_map(ns).metadata.resource_version
    v1.create_namespaced_config_map(ns, {'apiVersion': 'v1', 'kind': 'ConfigMap', 'metadata': {'name': cm_name}, 'data': {'greeting': 'hello', 'keep': 'kept'}})
    cm = v1.read_namespaced_config_map(cm_name, ns)
    cm.data['greeting'] = 'hallo'
    out['step'] = 'replace configmap'
    rep = v1.replace_namespaced_config_map(cm_name, ns, cm)
    out['configmapReplaced'] = rep.data
    out['configmap'] = v1.read_namespaced_config_map(cm_name, ns).data

    # A watch from the listed resourceVersion (what informers do) replays both changes.
    out['step'] = 'watch configmaps'
    cm_events = []
    w = watch.Watch()
    for ev in w.stream(v1.list_namespaced_config_map, ns, resource_version=listed_rv, timeout_seconds=30):
        if ev['object'].metadata.name != cm_name:
            continue
        cm_events.append({'type': ev['type'], 'data': ev['object'].data})
        if ev['type'] == 'MODIFIED':
            w.stop()
    out['configmapEvents'] = cm_events

    out['step'] = 'cleanup'
    v1.delete_namespaced_config_map(cm_name, ns)
    v1.delete_namespaced_pod(pod_name, ns, grace_period_seconds=0)
    out['step'] = 'done'
except ApiException as e:
    out['error'] = {'status': e.status, 'reason': e.reason, 'body': e.body}
except Exception as e:
    out['error'] = {'exception': traceback.format_exc()}
print(json.dumps(out))
`;

describe.skipIf(PYTHON === undefined)('python3-kubernetes against podvisor serve', () => {
  it('watch.Watch().stream yields the pod events, read_namespaced_pod_log(follow=True) streams lines, read-modify-write replace of a pod and a ConfigMap', async () => {
    const trigger = join(tmp.dir, 'py-trigger');
    const input = { kubeconfig, namespace: 'default', pod: 'py-pod', configmap: 'py-config', trigger, command: loggingCommand(trigger) };
    const r = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const p = spawn(PYTHON as string, ['-c', PYTHON_SCRIPT, JSON.stringify(input)], { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      p.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
      p.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      const t = setTimeout(() => {
        p.kill('SIGKILL');
        reject(new Error(`the Python client did not finish in time\nstdout:\n${stdout}\nstderr:\n${stderr}\n${requestLog('py-')}`));
      }, 100_000);
      p.on('exit', (code) => {
        clearTimeout(t);
        resolve({ code, stdout, stderr });
      });
    });
    expect(r.code, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}');
    const context = `${JSON.stringify(out, null, 2)}\n${r.stderr}\n${requestLog('py-')}`;
    expect(out.error, context).toBeUndefined();
    expect(out.step, context).toBe('done');

    // watch: the pod's ADDED first, then MODIFIED events up to Running with the new label.
    const events = out.events as { type: string; phase: string | null; labels: Record<string, string> }[];
    expect(events[0]?.type, context).toBe('ADDED');
    expect(events[0]?.labels['client']).toBe('python');
    expect(events.some((e) => e.type === 'MODIFIED' && e.phase === 'Running' && e.labels['stage'] === 'replaced'), context).toBe(true);

    // replace (read-modify-write with Python's timestamps): the label changed, identity kept.
    expect(out.replaced.labels).toEqual({ client: 'python', stage: 'replaced' });
    expect(out.replaced.uid).toBe(out.created.uid);
    expect(out.replaced.creationTimestamp).toBe(out.created.creationTimestamp);
    expect(out.afterReplace).toEqual({ client: 'python', stage: 'replaced' });

    // log follow: the lines so far, then the one written after the trigger.
    expect(out.triggered, context).toBe(true);
    expect(out.log, context).toBe('line 1\nline 2\nline 3\nline 4\n');

    // the log followed through the library's Watch: every line, as lines.
    expect(out.watchedLog, context).toEqual(['line 1', 'line 2', 'line 3', 'line 4']);

    // ConfigMap read-modify-write, and the watch from the listed version replays both changes.
    expect(out.configmapReplaced).toEqual({ greeting: 'hallo', keep: 'kept' });
    expect(out.configmap).toEqual({ greeting: 'hallo', keep: 'kept' });
    expect(out.configmapEvents, context).toEqual([
      { type: 'ADDED', data: { greeting: 'hello', keep: 'kept' } },
      { type: 'MODIFIED', data: { greeting: 'hallo', keep: 'kept' } },
    ]);
  });
});

