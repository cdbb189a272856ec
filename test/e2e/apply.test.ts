/**
 * End-to-end: `kubectl apply --server-side` with the real kubectl 1.32 and 1.35 against the
 * built `podvisor serve` (host runtime, real processes):
 * - a ConfigMap applied twice, the second time without a key: the key is pruned;
 * - another field manager applying a different value of a field kubectl owns fails with the
 *   API server's conflict (kubectl exits non-zero and prints it); with `--force-conflicts` it
 *   succeeds and takes the field;
 * - `kubectl get -o yaml --show-managed-fields` shows both managers, and what each owns;
 * - a pod applied server-side, then its labels changed (one removed, one added) by a second
 *   apply.
 * A missing kubectl skips its suite, except under CI=true, where it fails.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, ensureBuilt, freePort, ROOT, tempDir, until } from './helpers.js';

const tmp = tempDir('podvisor-apply-');
const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && process.env['CI'] === 'true') throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests (scripts/fetch-kubectl.sh)`);
}

let proc: ChildProcess;
let port = 0;
const dataDir = join(tmp.dir, 'data');
let kubeconfig = '';

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
  proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`], { cwd: ROOT, stdio: ['ignore', 'ignore', 'ignore'] });
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

const configMap = (name: string, data: Record<string, string>): string => `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels: {app: demo}
data:
${Object.entries(data).map(([k, v]) => `  ${k}: ${JSON.stringify(v)}`).join('\n')}
`;

const pod = (name: string, labels: Record<string, string>): string => `apiVersion: v1
kind: Pod
metadata:
  name: ${name}
  labels: ${JSON.stringify(labels)}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sleep", "3600"]
    ports: [{containerPort: 8080}]
`;

for (const k of KUBECTLS) describe.skipIf(!existsSync(k.path))(`kubectl ${k.version}: apply --server-side`, () => {
  const v = k.version.replace('.', '-');
  const kubectl = (args: string[]) => spawnSync(k.path, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kcache-${v}`), ...args], { encoding: 'utf8', timeout: 60_000 });
  const file = (name: string, text: string): string => {
    const f = join(tmp.dir, `${name}.yaml`);
    writeFileSync(f, text);
    return f;
  };

  it('prunes a key the second apply leaves out; another manager conflicts, --force-conflicts takes the field; both managers shown', () => {
    const name = `settings-${v}`;
    const first = kubectl(['apply', '--server-side', '-f', file(name, configMap(name, { key: 'v', keep: 'k', gone: 'g' }))]);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toBe(`configmap/${name} serverside-applied`);
    const second = kubectl(['apply', '--server-side', '-f', file(name, configMap(name, { key: 'v', keep: 'k' }))]);
    expect(second.status, second.stderr).toBe(0);
    expect(JSON.parse(kubectl(['get', 'cm', name, '-o', 'json']).stdout).data).toEqual({ key: 'v', keep: 'k' });

    const other = file(`${name}-other`, `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ${name}}\ndata: {key: changed}\n`);
    const conflict = kubectl(['apply', '--server-side', '--field-manager=other', '-f', other]);
    expect(conflict.status).not.toBe(0);
    expect(conflict.stderr).toContain('Apply failed with 1 conflict: conflict with "kubectl": .data.key');
    expect(conflict.stderr).toContain('--force-conflicts');
    expect(JSON.parse(kubectl(['get', 'cm', name, '-o', 'json']).stdout).data.key).toBe('v');

    const forced = kubectl(['apply', '--server-side', '--field-manager=other', '--force-conflicts', '-f', other]);
    expect(forced.status, forced.stderr).toBe(0);
    expect(forced.stdout.trim()).toBe(`configmap/${name} serverside-applied`);
    const got = JSON.parse(kubectl(['get', 'cm', name, '-o', 'json', '--show-managed-fields']).stdout);
    expect(got.data).toEqual({ key: 'changed', keep: 'k' });
    const owners = Object.fromEntries(got.metadata.managedFields.map((e: any) => [e.manager, [e.operation, e.fieldsV1]]));
    expect(owners).toEqual({
      kubectl: ['Apply', { 'f:data': { 'f:keep': {} }, 'f:metadata': { 'f:labels': { 'f:app': {} } } }],
      other: ['Apply', { 'f:data': { 'f:key': {} } }],
    });
    const yaml = kubectl(['get', 'cm', name, '-o', 'yaml', '--show-managed-fields']).stdout;
    expect(yaml).toMatch(/managedFields:/);
    expect(yaml).toMatch(/manager: kubectl\n\s+operation: Apply/);
    expect(yaml).toMatch(/manager: other\n\s+operation: Apply/);
    // Without the flag kubectl hides them, as it does for any API server.
    expect(kubectl(['get', 'cm', name, '-o', 'yaml']).stdout).not.toContain('managedFields');
    expect(kubectl(['delete', 'cm', name]).status).toBe(0);
  });

  it('a pod applied server-side has its labels changed by a second apply', async () => {
    const name = `web-${v}`;
    const first = kubectl(['apply', '--server-side', '-f', file(name, pod(name, { app: 'web', tier: 'front' }))]);
    expect(first.stderr).toBe('');
    expect(first.stdout.trim()).toBe(`pod/${name} serverside-applied`);
    const created = await api(`/api/v1/namespaces/default/pods/${name}`);
    expect(created.metadata.managedFields.map((e: any) => [e.manager, e.operation])).toEqual([['kubectl', 'Apply']]);
    expect(created.metadata.managedFields[0].fieldsV1['f:spec']['f:containers']['k:{"name":"main"}']['f:ports']).toEqual({ 'k:{"containerPort":8080,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } });
    const second = kubectl(['apply', '--server-side', '-f', file(name, pod(name, { app: 'web', version: 'v2' }))]);
    expect(second.status, second.stderr).toBe(0);
    expect(second.stdout.trim()).toBe(`pod/${name} serverside-applied`);
    expect(JSON.parse(kubectl(['get', 'pod', name, '-o', 'json']).stdout).metadata.labels).toEqual({ app: 'web', version: 'v2' });
    expect(kubectl(['get', 'pods', '-l', 'version=v2', '-o', 'name']).stdout.trim()).toBe(`pod/${name}`);
    expect(kubectl(['delete', 'pod', name, '--wait=false']).status).toBe(0);
  });
});
