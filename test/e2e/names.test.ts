/**
 * End-to-end (issue 11): the longest names the API admits, `generateName`, a store whose writes
 * fail, and temporary files a crash left, against the built `podvisor serve` with real
 * processes on the host runtime.
 *
 * - A pod in a namespace that does not exist is refused (404); the namespace of 63 characters
 *   is created, and a pod name of 253 characters in it (a container name of 63) is created,
 *   listed, logged, restarted in place, survives a stop and start of the daemon on the same
 *   data dir, and is deleted; the daemon keeps running throughout.
 * - A generateName of 250 characters gives a valid name of 63: its first 58 plus 5.
 * - A store whose pods directory is replaced by a file (a fault that stops root too) makes a
 *   create a 500 InternalError `Status`; the daemon keeps serving, and once the fault is gone
 *   a create works.
 * - Temporary store files left by a crash are removed at start.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, cli, daemonRequest, ensureBuilt, freePort, manifest, ROOT, tempDir, until } from './helpers.js';
import { nameSegment } from '../../src/store/file-store.js';

const tmp = tempDir('podvisor-names-');
const dataDir = join(tmp.dir, 'data');
const storeDir = join(dataDir, 'store');

/** A namespace of 63 characters, a pod name of 253 (four labels), a container name of 63. */
const NS = `${'n'.repeat(31)}-${'s'.repeat(31)}`;
const NAME = `${'p'.repeat(63)}.${'q'.repeat(63)}.${'r'.repeat(63)}.${'s'.repeat(61)}`;
const CONTAINER = `c${'0'.repeat(61)}c`;

interface Daemon {
  proc: ChildProcess;
  port: number;
  logs: string[];
}

let daemon: Daemon;
let port = 0;

async function startDaemon(): Promise<Daemon> {
  const proc = spawn(process.execPath, [CLI, 'serve', '--stop-pods-on-exit', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--backoff-initial', '1s', '--backoff-max', '2s'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: string[] = [];
  proc.stdout?.on('data', (d: Buffer) => logs.push(d.toString()));
  proc.stderr?.on('data', (d: Buffer) => logs.push(d.toString()));
  await until('serve /readyz', async () => proc.exitCode === null && (await daemonRequest(dataDir, port, '/readyz', { auth: false })).status === 200);
  return { proc, port, logs };
}

/** SIGTERM; resolves with the exit code. */
function stopDaemon(d: Daemon): Promise<number | null> {
  return new Promise((resolve) => {
    if (d.proc.exitCode !== null) return resolve(d.proc.exitCode);
    d.proc.once('exit', (code) => resolve(code));
    d.proc.kill('SIGTERM');
  });
}

const api = async (path: string, method = 'GET', body?: unknown): Promise<{ status: number; json: any }> => {
  const r = await daemonRequest(dataDir, port, path, { method, ...(body !== undefined ? { body: JSON.stringify(body) } : {}) });
  return { status: r.status, json: JSON.parse(r.body) };
};
const podPath = (ns: string, name = '') => `/api/v1/namespaces/${ns}/pods${name ? `/${name}` : ''}`;
const pv = (args: string[]) => cli([...args, '-n', NS, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir], { timeoutMs: 30_000 });
const alive = (): boolean => daemon.proc.exitCode === null && daemon.proc.signalCode === null;
const container = (pod: any) => pod.status?.containerStatuses?.[0];

const podBody = (metadata: Record<string, unknown>) => ({
  apiVersion: 'v1', kind: 'Pod', metadata,
  spec: { terminationGracePeriodSeconds: 2, containers: [{ name: 'c', image: 'busybox', command: ['sh', '-c', "trap 'exit 0' TERM; while true; do sleep 0.1; done"] }] },
});

beforeAll(async () => {
  ensureBuilt();
  port = await freePort();
  daemon = await startDaemon();
});

afterAll(async () => {
  if (daemon) await stopDaemon(daemon);
  tmp.cleanup();
});

describe('names at the API maximum, generateName, store failures', () => {
  it('a 253-character pod in a 63-character namespace: created, listed, logged, restarted, kept across a daemon restart, deleted', async () => {
    const f = manifest(tmp.dir, 'long.yaml', `
apiVersion: v1
kind: Pod
metadata: {name: ${NAME}, namespace: ${NS}}
spec:
  terminationGracePeriodSeconds: 2
  containers:
  - name: ${CONTAINER}
    image: busybox
    command: ["sh", "-c", "echo hello attempt $PODVISOR_RESTART_COUNT; trap 'exit 0' TERM; while true; do sleep 0.1; done"]
`);
    // Namespaces are objects: a pod in one that does not exist is refused, as by the API server.
    const refused = await pv(['apply', '-f', f]);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toContain(`namespaces "${NS}" not found`);
    expect((await api('/api/v1/namespaces', 'POST', { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } })).status).toBe(201);
    const applied = await pv(['apply', '-f', f]);
    expect(applied.stderr).toBe('');
    expect(applied.code).toBe(0);
    const running = await until('the long pod runs', async () => {
      const r = await api(podPath(NS, NAME));
      return r.status === 200 && container(r.json)?.state?.running ? r.json : undefined;
    });
    const uid = running.metadata.uid;

    const list = await api(podPath(NS));
    expect(list.json.items.map((p: any) => p.metadata.name)).toEqual([NAME]);
    const table = await pv(['get', 'pods']);
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(NAME);
    await until('its log', async () => (await pv(['logs', NAME])).stdout.includes('hello attempt 0'));

    const restarted = await pv(['restart', 'pod', NAME]);
    expect(restarted.code, restarted.stderr).toBe(0);
    await until('restarted in place', async () => {
      const p = (await api(podPath(NS, NAME))).json;
      return container(p)?.restartCount === 1 && container(p)?.state?.running !== undefined;
    });
    await until('the new instance logs', async () => (await pv(['logs', NAME])).stdout.includes('hello attempt 1'));
    expect((await api(`${podPath(NS, NAME)}/restarts`)).json.items.map((r: any) => r.level)).toEqual(['pod']);
    expect(alive()).toBe(true);

    expect(await stopDaemon(daemon)).toBe(0);
    daemon = await startDaemon();
    const resumed = await until('the long pod is back and runs', async () => {
      const r = await api(podPath(NS, NAME));
      return r.status === 200 && container(r.json)?.state?.running ? r.json : undefined;
    });
    expect(resumed.metadata.uid).toBe(uid);
    await until('its log after the restart', async () => (await pv(['logs', NAME])).stdout.includes('hello attempt'));

    const deleted = await pv(['delete', 'pod', NAME]);
    expect(deleted.code, deleted.stderr).toBe(0);
    expect((await api(podPath(NS, NAME))).status).toBe(404);
    expect(alive()).toBe(true);
  });

  it('a generateName of 250 characters gives a valid name: its first 58 characters plus 5', async () => {
    const base = `${'g'.repeat(63)}.${'h'.repeat(63)}.${'i'.repeat(63)}.${'j'.repeat(58)}`;
    expect(base).toHaveLength(250);
    const r = await api(podPath(NS), 'POST', podBody({ generateName: base }));
    expect(r.status).toBe(201);
    const name: string = r.json.metadata.name;
    expect(name).toHaveLength(63);
    expect(name.slice(0, 58)).toBe(base.slice(0, 58));
    expect(name.slice(58)).toMatch(/^[bcdfghjklmnpqrstvwxz2456789]{5}$/);
    await until('the generated pod runs', async () => container((await api(podPath(NS, name))).json)?.state?.running !== undefined);
    expect((await api(`${podPath(NS, name)}?gracePeriodSeconds=0`, 'DELETE')).status).toBe(200);
    await until('it is gone', async () => (await api(podPath(NS, name))).status === 404);
    expect(alive()).toBe(true);
  });

  it('a create the store cannot write is a 500 InternalError; the daemon keeps serving and creates once the fault is gone', async () => {
    const first = await api(podPath('default'), 'POST', podBody({ name: 'before' }));
    expect(first.status).toBe(201);
    await until('before runs', async () => container((await api(podPath('default', 'before'))).json)?.state?.running !== undefined);

    // A regular file where the pods directory is: every pod write fails, as root too.
    const pods = join(storeDir, 'pods');
    renameSync(pods, `${pods}.aside`);
    writeFileSync(pods, 'not a directory');
    const failed = await api(podPath('default'), 'POST', podBody({ name: 'during' }));
    expect(failed.status).toBe(500);
    expect(Object.keys(failed.json)).toEqual(['kind', 'apiVersion', 'metadata', 'status', 'message', 'reason', 'details', 'code']);
    expect(failed.json).toMatchObject({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'InternalError', code: 500 });
    expect(failed.json.message).toMatch(/^Internal error occurred: cannot store the create of pod default\/during: /);
    expect(failed.json.details).toEqual({ causes: [{ message: failed.json.message.slice('Internal error occurred: '.length) }] });
    await until('the failure in the daemon log', () => daemon.logs.join('').includes('cannot store the create of pod default/during'));
    expect(alive()).toBe(true);
    expect((await api(podPath('default', 'during'))).status).toBe(404);
    expect((await api(podPath('default', 'before'))).status).toBe(200);
    expect((await api(podPath('default'))).json.items.map((p: any) => p.metadata.name)).toEqual(['before']);

    rmSync(pods);
    renameSync(`${pods}.aside`, pods);
    const after = await api(podPath('default'), 'POST', podBody({ name: 'during' }));
    expect(after.status).toBe(201);
    await until('during runs', async () => container((await api(podPath('default', 'during'))).json)?.state?.running !== undefined);
    expect(alive()).toBe(true);
  });

  it('temporary store files a crash left are removed at start; the pods stay', async () => {
    expect(await stopDaemon(daemon)).toBe(0);
    const dead = spawnSync('true').pid ?? 0;
    const podDir = join(storeDir, 'pods', nameSegment('default'));
    const stale = [join(storeDir, `.meta.json.${dead}.tmp`), join(podDir, `.${nameSegment('before')}.json.${dead}.tmp`), join(storeDir, 'events', `.${nameSegment('default')}.jsonl.${dead}.tmp`)];
    mkdirSync(join(storeDir, 'events'), { recursive: true });
    for (const f of stale) writeFileSync(f, '{"resourceVers');
    daemon = await startDaemon();
    for (const f of stale) expect(existsSync(f), f).toBe(false);
    expect(readdirSync(podDir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const names = (await api(podPath('default'))).json.items.map((p: any) => p.metadata.name).sort();
    expect(names).toEqual(['before', 'during']);
    for (const n of names) expect((await api(`${podPath('default', n)}?gracePeriodSeconds=0`, 'DELETE')).status).toBe(200);
    await until('every pod is gone', async () => (await api(podPath('default'))).json.items.length === 0);
  });
});
