/** End-to-end helpers: run the built CLI as a user would, with real processes. */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execFileSync } from 'node:child_process';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const CLI = join(ROOT, 'bin/podvisor.js');

let built = false;
/** Builds dist/ once per test file (the CLI runs from it). */
export function ensureBuilt(): void {
  if (built) return;
  execFileSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: ROOT, stdio: 'inherit' });
  built = true;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `podvisor ARGS` and resolves when it exits (with a hard deadline). */
export function cli(args: string[], opts: { timeoutMs?: number; env?: Record<string, string>; onSpawn?: (pid: number) => void } = {}): Promise<CliResult> {
  return new Promise((resolvePromise, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: { ...process.env, NO_COLOR: '1', ...opts.env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    if (child.pid !== undefined) opts.onSpawn?.(child.pid);
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`podvisor ${args.join(' ')} did not finish in time\nstdout:\n${stdout}\nstderr:\n${stderr}`));
    }, opts.timeoutMs ?? 60_000);
    child.on('exit', (code) => {
      clearTimeout(t);
      resolvePromise({ code, stdout, stderr });
    });
  });
}

/** A temp dir removed by the returned cleanup. */
export function tempDir(prefix = 'podvisor-e2e-'): { dir: string; cleanup: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Writes a manifest into `dir` and returns its path. */
export function manifest(dir: string, name: string, yaml: string): string {
  const p = join(dir, name);
  writeFileSync(p, yaml);
  return p;
}

/** Container statuses of a pod JSON by name (init and regular). */
export function statuses(pod: { status?: { initContainerStatuses?: { name: string }[]; containerStatuses?: { name: string }[] } }): Record<string, any> {
  const out: Record<string, any> = {};
  for (const s of [...(pod.status?.initContainerStatuses ?? []), ...(pod.status?.containerStatuses ?? [])]) out[s.name] = s;
  return out;
}

/** Can the host runtime mount volumes here (root, or CI where it must)? */
export function canMount(): boolean {
  return process.getuid?.() === 0 || process.env['CI'] === 'true';
}

/** Polls `fn` until it returns a value (not undefined/false), or fails after `ms` with `what`. */
export async function until<T>(what: string, fn: () => T | undefined | false | Promise<T | undefined | false>, ms = 30_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** A free TCP port on 127.0.0.1. */
export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(p));
    });
  });
}

/** A request to `podvisor serve` over HTTPS with its token and certificate from `dataDir`. */
export function daemonRequest(dataDir: string, port: number, path: string, opts: { method?: string; auth?: boolean; body?: string } = {}): Promise<{ status: number; body: string }> {
  const ca = readFileSync(join(dataDir, 'tls', 'cert.pem'));
  const headers: Record<string, string> = { 'Content-Type': 'application/json' };
  if (opts.auth !== false) headers['Authorization'] = `Bearer ${readFileSync(join(dataDir, 'token'), 'utf8').trim()}`;
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', ca, headers }, (res) => {
      let b = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (b += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
    });
    req.on('error', reject);
    if (opts.body !== undefined) req.write(opts.body);
    req.end();
  });
}

/**
 * The host PID of the process a container knows as `nsPid` (`$$`, `$!`): containers of the
 * sandbox runtime live in their own PID namespace, the host runtime's in ours. The namespace is
 * the one of a process whose command line contains `hint` (a path unique to the scenario).
 * Throws when there is no such process: a test must never signal a guessed PID.
 */
export function hostPidOf(nsPid: number, hint: string): number {
  const own = readlinkSync('/proc/self/ns/pid');
  const procs: { pid: number; ns: string; nsPid: number | undefined; hinted: boolean }[] = [];
  for (const e of readdirSync('/proc')) {
    if (!/^\d+$/.test(e) || Number(e) === process.pid) continue;
    try {
      const ns = readlinkSync(`/proc/${e}/ns/pid`);
      const ids = (/^NSpid:\s+(.*)$/m.exec(readFileSync(`/proc/${e}/status`, 'utf8'))?.[1] ?? '').trim().split(/\s+/).map(Number);
      const hinted = readFileSync(`/proc/${e}/cmdline`, 'utf8').includes(hint);
      procs.push({ pid: Number(e), ns, nsPid: ids[ids.length - 1], hinted });
    } catch {
      // gone meanwhile
    }
  }
  const spaces = new Set(procs.filter((p) => p.hinted).map((p) => p.ns));
  // The scenario's own namespace wins over ours (where only the runtime's wrappers live then).
  if ([...spaces].some((n) => n !== own)) spaces.delete(own);
  const found = procs.find((p) => spaces.has(p.ns) && p.nsPid === nsPid);
  if (found === undefined || found.pid <= 1) throw new Error(`no process ${nsPid} in the PID namespace of "${hint}"`);
  return found.pid;
}

/** Whether process `pid` exists and is neither a zombie nor dead (`Z`/`X` in /proc/PID/stat). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return !/^\S+ \(.*\) [ZX]/.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return false;
  }
}
