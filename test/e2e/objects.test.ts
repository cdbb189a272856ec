/**
 * End-to-end (issue 14): the objects around pods, driven by the real kubectl 1.32 and 1.35
 * against the built `podvisor serve` on the host runtime with real processes:
 * - a bundle of Namespace + ConfigMap + Secret + Pod applies in one `kubectl apply -f`;
 * - the pod reads the ConfigMap and the Secret through `env`, `envFrom` and volumes, and its
 *   own name, namespace, IP and labels through the downward API, and prints them in its log;
 * - a ConfigMap update reaches the mounted file while the pod runs (event-driven: the test
 *   allows 10 s, it takes well under one), and a label change the downward API file;
 * - a pod referencing a missing Secret waits in `CreateContainerConfigError` and starts once
 *   `kubectl create secret` creates it;
 * - `kubectl create namespace|configmap --from-literal|--from-file|secret generic|docker-registry|tls`
 *   (protobuf bodies), `get`, and `delete namespace` (Terminating, its pods stopped, then gone);
 * - `explain`, `cluster-info` exits 0, `debug` adds an ephemeral container, `auth whoami`, `auth can-i`;
 * - `set image` restarts the container from the new definition; `activeDeadlineSeconds` may be
 *   set and lowered, never raised.
 * Volume mounts on the host runtime need root (or user namespaces): the volume parts skip
 * without them, never under CI=true.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-objects-');
const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
const CI = process.env['CI'] === 'true';
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && CI) throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests (scripts/fetch-kubectl.sh)`);
}
const ROOT_USER = process.getuid?.() === 0;
if (!ROOT_USER && CI) throw new Error('CI runs as root: the volume tests need it');

let proc: ChildProcess;
let port = 0;
const dataDir = join(tmp.dir, 'data');
let kubeconfig = '';
let KUBECTL = '';

const kubectl = (args: string[], input?: string) =>
  spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${KUBECTL.length}`), ...args], { encoding: 'utf8', timeout: 30_000, ...(input !== undefined ? { input } : {}) });

function api(path: string): Promise<any> {
  const token = readFileSync(join(dataDir, 'token'), 'utf8').trim();
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  return new Promise((resolve, reject) => {
    https.get({ host: '127.0.0.1', port, path, ca, headers: { Authorization: `Bearer ${token}` } }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode, ...JSON.parse(b) }));
    }).on('error', reject);
  });
}

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--backoff-initial', '1s', '--backoff-max', '2s'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
  await until('the API', async () => (await api('/api/v1/namespaces/default')).metadata?.name === 'default');
  const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
  expect(k.code).toBe(0);
  kubeconfig = join(tmp.dir, 'kubeconfig');
  writeFileSync(kubeconfig, k.stdout);
});

afterAll(async () => {
  if (proc && proc.exitCode === null) {
    await new Promise<void>((resolve) => {
      proc.once('exit', () => resolve());
      proc.kill('SIGTERM');
    });
  }
  tmp.cleanup();
});

/** The bundle of one Namespace, one ConfigMap, one Secret and a Pod that reads all of them. */
const bundle = (ns: string): string => `
apiVersion: v1
kind: Namespace
metadata: {name: ${ns}}
---
apiVersion: v1
kind: ConfigMap
metadata: {name: settings, namespace: ${ns}}
data: {mode: slow, level: "3"}
---
apiVersion: v1
kind: Secret
metadata: {name: creds, namespace: ${ns}}
type: Opaque
stringData: {password: s3cret}
---
apiVersion: v1
kind: Pod
metadata: {name: reader, namespace: ${ns}, labels: {team: ml}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo MODE=$MODE PASS=$PASS CFG_level=$CFG_level NAME=$MY_NAME NS=$MY_NS IP=$MY_IP; cat /etc/creds/password; echo; cat /etc/info/labels; echo; while true; do echo file=$(cat /etc/cfg/mode) labels=$(tr '\\n' , < /etc/info/labels); sleep 0.2; done"]
    env:
    - {name: MODE, valueFrom: {configMapKeyRef: {name: settings, key: mode}}}
    - {name: PASS, valueFrom: {secretKeyRef: {name: creds, key: password}}}
    - {name: MY_NAME, valueFrom: {fieldRef: {fieldPath: metadata.name}}}
    - {name: MY_NS, valueFrom: {fieldRef: {fieldPath: metadata.namespace}}}
    - {name: MY_IP, valueFrom: {fieldRef: {fieldPath: status.podIP}}}
    envFrom:
    - {prefix: CFG_, configMapRef: {name: settings}}
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

for (const k of KUBECTLS) describe.skipIf(!existsSync(k.path))(`kubectl ${k.version}: namespaces, ConfigMaps, Secrets, the downward API`, () => {
  const ns = `objects-${k.version.replace('.', '')}`;
  beforeAll(() => {
    KUBECTL = k.path;
  });

  it.skipIf(!ROOT_USER)('applies the bundle in one command; the pod prints what it reads; a ConfigMap update reaches the mounted file', async () => {
    const f = join(tmp.dir, `bundle-${ns}.yaml`);
    writeFileSync(f, bundle(ns));
    const applied = kubectl(['apply', '-f', f]);
    expect(applied.stderr).toBe('');
    expect(applied.stdout.trim().split('\n')).toEqual([`namespace/${ns} created`, 'configmap/settings created', 'secret/creds created', 'pod/reader created']);
    const pod = await until('the reader runs', async () => {
      const p = await api(`/api/v1/namespaces/${ns}/pods/reader`);
      return p.status?.phase === 'Running' ? p : undefined;
    });
    const log = await until('its first lines', () => {
      const l = kubectl(['logs', 'reader', '-n', ns]).stdout;
      return l.includes('file=') ? l : undefined;
    });
    expect(log).toContain(`MODE=slow PASS=s3cret CFG_level=3 NAME=reader NS=${ns} IP=${pod.status.podIP as string}`);
    expect(log).toContain('s3cret\nteam="ml"\n');
    expect(log).toContain('file=slow');

    const t0 = Date.now();
    const patched = kubectl(['patch', 'configmap', 'settings', '-n', ns, '-p', '{"data":{"mode":"fast"}}']);
    expect(patched.stdout.trim()).toBe('configmap/settings patched');
    await until('the new value in the mounted file', () => kubectl(['logs', 'reader', '-n', ns, '--tail', '3']).stdout.includes('file=fast'), 10_000);
    expect(Date.now() - t0).toBeLessThan(10_000);
    // The downward API file follows the pod's labels in place.
    expect(kubectl(['label', 'pod', 'reader', '-n', ns, 'stage=two']).stdout.trim()).toBe('pod/reader labeled');
    await until('the new label in the mounted file', () => kubectl(['logs', 'reader', '-n', ns, '--tail', '3']).stdout.includes('labels=stage="two",team="ml"'), 10_000);
  });

  it.skipIf(!ROOT_USER)('a pod referencing a missing Secret waits in CreateContainerConfigError and starts once the Secret exists', async () => {
    const f = join(tmp.dir, `waits-${ns}.yaml`);
    writeFileSync(f, `
apiVersion: v1
kind: Pod
metadata: {name: waits, namespace: ${ns}}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "echo token=$TOKEN; sleep 3600"]
    env:
    - {name: TOKEN, valueFrom: {secretKeyRef: {name: later, key: token}}}
`);
    expect(kubectl(['apply', '-f', f]).stdout.trim()).toBe('pod/waits created');
    await until('CreateContainerConfigError', () => /waits\s+0\/1\s+CreateContainerConfigError/.test(kubectl(['get', 'pod', 'waits', '-n', ns]).stdout));
    const p = await api(`/api/v1/namespaces/${ns}/pods/waits`);
    expect(p.status.containerStatuses[0].state.waiting).toEqual({ reason: 'CreateContainerConfigError', message: 'secret "later" not found' });
    expect(kubectl(['create', 'secret', 'generic', 'later', '-n', ns, '--from-literal=token=abc']).stdout.trim()).toBe('secret/later created');
    await until('it runs with the value', () => kubectl(['logs', 'waits', '-n', ns]).stdout.includes('token=abc'), 20_000);
  });

  it('explain reads the served OpenAPI schemas (1.36 fields included)', () => {
    const r = kubectl(['explain', 'pod.spec.containers.restartPolicyRules']);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/FIELD: restartPolicyRules <\[\]ContainerRestartRule>/);
    expect(kubectl(['explain', 'configmap.data']).stdout).toMatch(/FIELD: data <map\[string\]string>/);
  });

  it('cluster-info exits 0; debug adds an ephemeral container (with the host runtime\'s notice)', () => {
    const info = kubectl(['cluster-info']);
    expect(info.status).toBe(0);
    expect(info.stdout).toContain(`Kubernetes control plane is running at https://127.0.0.1:${port}`);
    expect(kubectl(['run', 'dbg', '-n', ns, '--image=busybox', '--', 'sleep', '3600']).stdout.trim()).toBe('pod/dbg created');
    const debug = kubectl(['debug', 'dbg', '-n', ns, '--image=busybox', '--', 'sh']);
    expect(debug.stderr).not.toContain('panic');
    expect(debug.status, debug.stderr).toBe(0);
    expect(debug.stderr).toMatch(/Warning: ephemeral container "debugger-\w+": the host runtime runs its command from the host's filesystem/);
    expect(kubectl(['get', 'services', '-n', 'kube-system']).stderr.trim()).toBe('No resources found in kube-system namespace.');
  });

  it('auth whoami names the token\'s user; auth can-i answers yes', () => {
    const who = kubectl(['auth', 'whoami']);
    expect(who.status).toBe(0);
    expect(who.stdout).toMatch(/^Username\s+podvisor-admin$/m);
    expect(who.stdout).toMatch(/^Groups\s+\[system:masters system:authenticated\]$/m);
    const can = kubectl(['auth', 'can-i', 'delete', 'pods', '-n', ns]);
    expect(can.status).toBe(0);
    expect(can.stdout.trim()).toBe('yes');
  });

  it('set image restarts that container from the new definition, as the kubelet does; activeDeadlineSeconds may be set', async () => {
    expect(kubectl(['run', 'img', '-n', ns, '--image=busybox:1.36', '--', 'sleep', '3600']).stdout.trim()).toBe('pod/img created');
    await until('img runs', async () => (await api(`/api/v1/namespaces/${ns}/pods/img`)).status?.phase === 'Running');
    expect(kubectl(['set', 'image', 'pod/img', '-n', ns, 'img=busybox:1.37']).stdout.trim()).toBe('pod/img image updated');
    const pod = await until('restarted from the new image', async () => {
      const p = await api(`/api/v1/namespaces/${ns}/pods/img`);
      const c = p.status?.containerStatuses?.[0];
      return c?.restartCount === 1 && c.state?.running ? p : undefined;
    });
    expect(pod.spec.containers[0].image).toBe('busybox:1.37');
    const events = (await api(`/api/v1/namespaces/${ns}/events`)).items.filter((e: any) => e.involvedObject.name === 'img').map((e: any) => e.message);
    expect(events).toContain('Container img definition changed, will be restarted');
    expect(kubectl(['patch', 'pod', 'img', '-n', ns, '-p', '{"spec":{"activeDeadlineSeconds":3600}}']).stdout.trim()).toBe('pod/img patched');
    const refused = kubectl(['patch', 'pod', 'img', '-n', ns, '-p', '{"spec":{"activeDeadlineSeconds":7200}}']);
    expect(refused.stderr).toContain('must be less than or equal to previous value');
  });

  it('create namespace, configmap (--from-literal, --from-file), secret (generic, docker-registry, tls), get; delete namespace: Terminating, then gone', async () => {
    const other = `${ns}-b`;
    expect(kubectl(['create', 'namespace', other]).stdout.trim()).toBe(`namespace/${other} created`);
    const file = join(tmp.dir, `app-${ns}.properties`);
    writeFileSync(file, 'a=1\n');
    expect(kubectl(['create', 'configmap', 'lit', '-n', other, '--from-literal=k1=v1', '--from-literal=k2=v2']).stdout.trim()).toBe('configmap/lit created');
    expect(kubectl(['create', 'configmap', 'fromfile', '-n', other, `--from-file=${file}`]).stdout.trim()).toBe('configmap/fromfile created');
    expect(kubectl(['create', 'secret', 'generic', 'gen', '-n', other, '--from-literal=user=me']).stdout.trim()).toBe('secret/gen created');
    expect(kubectl(['create', 'secret', 'docker-registry', 'pull', '-n', other, '--docker-server=127.0.0.1:5000', '--docker-username=u', '--docker-password=p']).stdout.trim()).toBe('secret/pull created');
    const key = join(tmp.dir, `tls-${ns}.key`);
    const crt = join(tmp.dir, `tls-${ns}.crt`);
    expect(spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', crt, '-subj', '/CN=x', '-days', '1'], { encoding: 'utf8' }).status).toBe(0);
    expect(kubectl(['create', 'secret', 'tls', 'cert', '-n', other, `--cert=${crt}`, `--key=${key}`]).stdout.trim()).toBe('secret/cert created');

    const cms = kubectl(['get', 'configmaps', '-n', other]).stdout;
    expect(cms).toMatch(/^NAME\s+DATA\s+AGE$/m);
    expect(cms).toMatch(/^lit\s+2\s+\d+s$/m);
    expect(cms).toMatch(new RegExp(`^fromfile\\s+1\\s+\\d+s$`, 'm'));
    const secrets = kubectl(['get', 'secrets', '-n', other]).stdout;
    expect(secrets).toMatch(/^gen\s+Opaque\s+1\s+\d+s$/m);
    expect(secrets).toMatch(/^pull\s+kubernetes.io\/dockerconfigjson\s+1\s+\d+s$/m);
    expect(secrets).toMatch(/^cert\s+kubernetes.io\/tls\s+2\s+\d+s$/m);
    const gen = JSON.parse(kubectl(['get', 'secret', 'gen', '-n', other, '-o', 'json']).stdout);
    expect(Buffer.from(gen.data.user, 'base64').toString()).toBe('me');

    // A pod keeps the namespace Terminating until it is gone.
    const f = join(tmp.dir, `sleeper-${ns}.yaml`);
    writeFileSync(f, `apiVersion: v1\nkind: Pod\nmetadata: {name: s, namespace: ${other}}\nspec:\n  terminationGracePeriodSeconds: 1\n  containers: [{name: c, image: busybox, command: ["sleep", "3600"]}]\n`);
    expect(kubectl(['apply', '-f', f]).stdout.trim()).toBe('pod/s created');
    await until('the sleeper runs', async () => (await api(`/api/v1/namespaces/${other}/pods/s`)).status?.phase === 'Running');
    const del = spawn(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${KUBECTL.length}`), 'delete', 'namespace', other], { stdio: 'ignore' });
    await until('Terminating', async () => (await api(`/api/v1/namespaces/${other}`)).status?.phase === 'Terminating' || (await api(`/api/v1/namespaces/${other}`)).code === 404);
    const refused = kubectl(['create', 'configmap', 'late', '-n', other, '--from-literal=a=b']);
    if (refused.status !== 0) expect(refused.stderr).toMatch(/because it is being terminated|not found/);
    await until('the namespace is gone', async () => (await api(`/api/v1/namespaces/${other}`)).code === 404, 20_000);
    expect((await api(`/api/v1/namespaces/${other}/configmaps`)).items).toEqual([]);
    expect((await api(`/api/v1/namespaces/${other}/pods`)).items).toEqual([]);
    await new Promise<void>((resolve) => (del.exitCode !== null ? resolve() : del.once('exit', () => resolve())));
    expect(del.exitCode).toBe(0);
  });
});
