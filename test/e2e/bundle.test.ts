/**
 * End-to-end: a bundle (Namespace + ConfigMap + Secret + Pod in one file, as applied to a
 * cluster) with the built CLI and real processes on the host runtime:
 * - `podvisor run -f bundle.yaml`: the pod reads the bundle's ConfigMap and Secret (env) and its
 *   own name (downward API) and prints them in its log; the volume part (configMap, secret and
 *   downwardAPI volumes) needs root or CI, where it must run;
 * - a pod referencing an object the files do not have ends the run after its first attempt with
 *   one line naming the pod, the container and the object (exit 2), the live view showing
 *   `CreateContainerConfigError`;
 * - `podvisor apply -f bundle.yaml` against `podvisor serve`: namespace, configmap, secret, pod
 *   created in that order (whatever the order in the file), the pod prints the values; applied
 *   again, everything is unchanged; a changed ConfigMap is configured; `-n` naming another
 *   namespace than the objects' sends nothing.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canMount, CLI, cli, daemonRequest, ensureBuilt, freePort, manifest, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-bundle-');

/** Every file named `name` under `dir`. */
function findFiles(dir: string, name: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir)) {
    const p = join(dir, e);
    if (statSync(p).isDirectory()) out.push(...findFiles(p, name));
    else if (e === name) out.push(p);
  }
  return out;
}

/** The text of a container's CRI log lines (without timestamps and stream tags). */
function logText(file: string): string {
  return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => l.split(' ').slice(3).join(' ')).join('\n');
}

const objects = (ns: string, mode = 'slow'): string => `
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ${ns}}
data: {mode: ${mode}, level: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ${ns}}
type: Opaque
stringData: {password: s3cret}
`;

const namespace = (ns: string): string => `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
`;

/** A pod printing a ConfigMap value, a Secret value and its own name, from env only. */
const envPod = (ns: string, name = 'reader', command = 'echo MODE=$MODE PASS=$PASS CFG_level=$CFG_level NAME=$MY_NAME NS=$MY_NS'): string => `
apiVersion: v1
kind: Pod
metadata: {name: ${name}, namespace: ${ns}}
spec:
  restartPolicy: Never
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "${command}"]
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    envFrom:
    - {prefix: CFG_, configMapRef: {name: settings}}
`;

/** Documents joined as one file. */
const bundle = (...docs: string[]): string => docs.map((d) => d.trim()).join('\n---\n');

beforeAll(() => ensureBuilt());
afterAll(() => tmp.cleanup());

describe('podvisor run -f bundle.yaml (host runtime)', () => {
  it('the pod prints a ConfigMap value, a Secret value (env) and its own name (downward API) in its log', async () => {
    const f = manifest(tmp.dir, 'run-bundle.yaml', bundle(namespace('demo'), envPod('demo'), objects('demo')));
    const dataDir = join(tmp.dir, 'run-data');
    const r = await cli(['run', '-f', f, '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).not.toMatch(/error|Warning/);
    expect(r.stdout).toMatch(/summary: pod\/reader Succeeded/);
    const logs = findFiles(dataDir, '0.log');
    expect(logs).toHaveLength(1);
    expect(logText(logs[0] as string)).toBe('MODE=slow PASS=s3cret CFG_level=3 NAME=reader NS=demo');
  });

  it.skipIf(!canMount())('configMap, secret and downwardAPI volumes show the bundle\'s objects', async () => {
    const pod = `
apiVersion: v1
kind: Pod
metadata: {name: files, labels: {team: ml}}
spec:
  restartPolicy: Never
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo mode=$(cat /etc/cfg/mode) password=$(cat /etc/creds/password) perm=$(stat -c %a /etc/creds/..data/password); cat /etc/info/labels; echo"]
    volumeMounts:
    - {name: cfg, mountPath: /etc/cfg}
    - {name: creds, mountPath: /etc/creds}
    - {name: info, mountPath: /etc/info}
  volumes:
  - {name: cfg, configMap: {name: settings}}
  - {name: creds, secret: {secretName: creds, defaultMode: 0400}}
  - name: info
    downwardAPI: {items: [{path: labels, fieldRef: {fieldPath: metadata.labels}}]}
`;
    const f = manifest(tmp.dir, 'run-volumes.yaml', bundle(objects('default'), pod));
    const dataDir = join(tmp.dir, 'run-volumes-data');
    const r = await cli(['run', '-f', f, '--data-dir', dataDir], { timeoutMs: 60_000 });
    expect(r.code, r.stderr).toBe(0);
    const logs = findFiles(dataDir, '0.log');
    expect(logText(logs[0] as string).trim()).toBe('mode=slow password=s3cret perm=400\nteam="ml"');
  });

  it('a pod needing a ConfigMap the files do not have ends the run after its first attempt: one line naming pod, container and object, exit 2', async () => {
    const f = manifest(tmp.dir, 'run-missing.yaml', bundle(objects('default'), `
apiVersion: v1
kind: Pod
metadata: {name: waits}
spec:
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo $X; sleep 100"]
    env:
    - {name: X, valueFrom: {configMapKeyRef: {name: elsewhere, key: x}}}
`));
    const t0 = Date.now();
    const r = await cli(['run', '-f', f, '--data-dir', join(tmp.dir, 'run-missing-data')], { timeoutMs: 30_000 });
    expect(Date.now() - t0).toBeLessThan(20_000);
    expect(r.code).toBe(2);
    expect(r.stdout).toMatch(/waits\s+0\/1\s+CreateContainerConfigError/);
    expect(r.stdout).toContain('Warning  Failed  pod/waits [main]: Error: configmap "elsewhere" not found');
    expect(r.stdout).toContain('pod/waits can never start: terminating pods gracefully');
    expect(r.stderr).toBe('error: pod default/waits can never start: container "main" needs ConfigMap "elsewhere", which the given files do not have (CreateContainerConfigError: configmap "elsewhere" not found)\n');

    // With -o json (no live view): the same line, and the final pod.
    const j = await cli(['run', '-f', f, '-o', 'json', '--data-dir', join(tmp.dir, 'run-missing-json')], { timeoutMs: 30_000 });
    expect(j.code).toBe(2);
    expect(JSON.parse(j.stdout).metadata.name).toBe('waits');
    expect(j.stderr).toMatch(/^error: pod default\/waits can never start: container "main" needs ConfigMap "elsewhere"/);
  });

  it('an invalid object of the bundle runs nothing: the API server\'s error, exit 2', async () => {
    const f = manifest(tmp.dir, 'run-invalid.yaml', bundle('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad}\n', envPod('default')));
    const r = await cli(['run', '-f', f, '--data-dir', join(tmp.dir, 'run-invalid-data')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^The ConfigMap "Bad" is invalid: metadata\.name: Invalid value: "Bad": a lowercase RFC 1123 subdomain/);
  });
});

describe('podvisor apply -f bundle.yaml against podvisor serve', () => {
  let proc: ChildProcess | undefined;
  let port = 0;
  const dataDir = join(tmp.dir, 'serve-data');
  const pv = (args: string[]) => cli([...args, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir], { timeoutMs: 30_000 });
  const get = async (path: string): Promise<any> => JSON.parse((await daemonRequest(dataDir, port, path)).body);

  beforeAll(async () => {
    port = await freePort();
    proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--backoff-initial', '1s', '--backoff-max', '2s'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
    await until('the API', async () => (await get('/api/v1/namespaces/default')).metadata?.name === 'default');
  });

  afterAll(async () => {
    const p = proc;
    if (p && p.exitCode === null) {
      await new Promise<void>((resolve) => {
        p.once('exit', () => resolve());
        p.kill('SIGTERM');
      });
    }
  });

  it('creates namespace, configmap, secret, then pod; the pod prints the values; applied again, unchanged; a change is configured', async () => {
    const ns = 'bundle-apply';
    // The pod first in the file: apply still creates what it needs before it.
    const text = bundle(envPod(ns, 'reader', 'echo MODE=$MODE PASS=$PASS CFG_level=$CFG_level NAME=$MY_NAME NS=$MY_NS; sleep 100'), objects(ns), namespace(ns));
    const f = join(tmp.dir, 'apply-bundle.yaml');
    writeFileSync(f, text);
    const applied = await pv(['apply', '-f', f]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    expect(applied.stdout.trim().split('\n')).toEqual([`namespace/${ns} created`, 'configmap/settings created', 'secret/creds created', 'pod/reader created']);
    const log = await until('the pod prints the values', async () => {
      const l = await pv(['logs', 'reader', '-n', ns]);
      return l.stdout.includes('MODE=') ? l.stdout : undefined;
    });
    expect(log.trim()).toBe(`MODE=slow PASS=s3cret CFG_level=3 NAME=reader NS=${ns}`);
    expect((await get(`/api/v1/namespaces/${ns}/secrets/creds`)).data).toEqual({ password: 'czNjcmV0' });

    const again = await pv(['apply', '-f', f]);
    expect(again.stderr).toBe('');
    expect(again.code).toBe(0);
    expect(again.stdout.trim().split('\n')).toEqual([`namespace/${ns} unchanged`, 'configmap/settings unchanged', 'secret/creds unchanged', 'pod/reader unchanged']);

    const changed = join(tmp.dir, 'apply-changed.yaml');
    writeFileSync(changed, objects(ns, 'fast'));
    const c = await pv(['apply', '-f', changed]);
    expect(c.stdout.trim().split('\n')).toEqual(['configmap/settings configured', 'secret/creds unchanged']);
    expect((await get(`/api/v1/namespaces/${ns}/configmaps/settings`)).data).toEqual({ mode: 'fast', level: '3' });

    // -n naming another namespace than the objects': nothing is sent, as with kubectl.
    const other = await pv(['apply', '-f', f, '-n', 'elsewhere']);
    expect(other.code).toBe(1);
    expect(other.stdout).toBe('');
    expect(other.stderr).toBe(`error: the namespace from the provided object "${ns}" does not match the namespace "elsewhere". You must pass '--namespace=${ns}' to perform this operation.\n`);
  });

  it('objects without a namespace go to -n; an invalid object is reported and the rest applied', async () => {
    const ns = 'bundle-dash-n';
    expect((await pv(['apply', '-f', manifest(tmp.dir, 'ns.yaml', namespace(ns))])).stdout.trim()).toBe(`namespace/${ns} created`);
    const f = manifest(tmp.dir, 'apply-n.yaml', bundle('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: Bad}\n', objects('').replace(/, namespace: }/g, '}'), envPod('').replace(/, namespace: }/, '}')));
    const r = await pv(['apply', '-f', f, '-n', ns]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^The ConfigMap "Bad" is invalid: metadata\.name: Invalid value: "Bad"/);
    expect(r.stdout.trim().split('\n')).toEqual(['configmap/settings created', 'secret/creds created', 'pod/reader created']);
    await until('the pod prints the values', async () => (await pv(['logs', 'reader', '-n', ns])).stdout.includes(`MODE=slow PASS=s3cret CFG_level=3 NAME=reader NS=${ns}`));
  });
});
