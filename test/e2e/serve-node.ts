/**
 * One `podvisor serve` daemon for end-to-end tests that stop, kill and start it again: its
 * runtime, data dir and port stay across restarts, so the next start finds what the last left.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { FileStore } from '../../src/store/file-store.js';
import { alive, CLI, cli, daemonRequest, ROOT, until } from './helpers.js';

export interface Daemon {
  proc: ChildProcess;
  /** Everything it printed (pino JSON lines). */
  out: string[];
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** One scenario's daemon: its runtime, data dir and port stay across the stop and the restart. */
export class ServeNode {
  daemon: Daemon | undefined;
  readonly dataDir: string;

  /** `dir`: a temp dir of the test file; `args`: extra flags of every start. */
  /** The build `start` runs (`bin/podvisor.js` of an installation); the project's own by default. */
  cli = CLI;

  /** How `apply` rewrites a manifest for the runtime (the oci runs' images, see `oci-images.ts`). */
  transform: ((yaml: string) => Promise<string>) | undefined;

  constructor(readonly runtime: string, readonly port: number, readonly dir: string, name: string, readonly args: string[] = []) {
    this.dataDir = join(dir, `${runtime}-${name}`);
  }

  async start(): Promise<void> {
    const proc = spawn(process.execPath, [
      this.cli, 'serve', '--runtime', this.runtime, '--data-dir', this.dataDir, '--listen', `127.0.0.1:${this.port}`,
      // A short back-off: before the fix, restarts into a closed runtime looped at this pace.
      '--backoff-initial', '200ms', '--backoff-max', '200ms', ...this.args,
    ], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    const out: string[] = [];
    proc.stdout?.on('data', (d: Buffer) => out.push(d.toString()));
    proc.stderr?.on('data', (d: Buffer) => out.push(d.toString()));
    const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => proc.once('exit', (code, signal) => resolve({ code, signal })));
    this.daemon = { proc, out, exit };
    await until('serve ready', async () => {
      if (proc.exitCode !== null) throw new Error(`serve exited: ${out.join('')}`);
      return existsSync(join(this.dataDir, 'tls', 'cert.pem')) && (await this.get('/api/v1/namespaces/default/pods').catch(() => undefined))?.kind === 'PodList';
    });
  }

  /** SIGKILLs the daemon (a crash) and waits for its end. */
  async kill(): Promise<void> {
    const d = this.daemon;
    if (!d) throw new Error('no daemon');
    d.proc.kill('SIGKILL');
    await d.exit;
    this.daemon = undefined;
  }

  /** Sends `signal` and waits for the exit (failing after 45 s); returns the exit and how long it took. */
  async stop(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null; ms: number; log: Record<string, unknown>[] }> {
    const d = this.daemon;
    if (!d) throw new Error('no daemon');
    const t0 = Date.now();
    d.proc.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const r = await Promise.race([d.exit, new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`serve still runs 45 s after ${signal}:\n${d.out.join('').split('\n').slice(-30).join('\n')}`)), 45_000);
    })]).finally(() => clearTimeout(timer));
    this.daemon = undefined;
    const log = d.out.join('').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
    return { ...r, ms: Date.now() - t0, log };
  }

  async get(path: string): Promise<any> {
    return JSON.parse((await daemonRequest(this.dataDir, this.port, path)).body);
  }

  pod(name: string): Promise<any> {
    return this.get(`/api/v1/namespaces/default/pods/${name}`);
  }

  /** The pod's record as the store kept it (what the next start resumes from). */
  stored(name: string): any {
    return JSON.parse(readFileSync(new FileStore(join(this.dataDir, 'store')).podFile('default', name), 'utf8'));
  }

  async apply(yaml: string): Promise<void> {
    const f = join(this.dir, `${this.runtime}-${Math.random().toString(36).slice(2)}.yaml`);
    writeFileSync(f, this.transform ? await this.transform(yaml) : yaml);
    const r = await cli(['apply', '-f', f, '--server', `https://127.0.0.1:${this.port}`, '--data-dir', this.dataDir]);
    expect(r.code, r.stderr).toBe(0);
  }

  /** Deletes every pod at once and stops the daemon, so that no sandbox outlives the test. */
  async cleanup(): Promise<void> {
    if (!existsSync(join(this.dataDir, 'store'))) return;
    if (!this.daemon) await this.start();
    for (const p of (await this.get('/api/v1/namespaces/default/pods')).items as any[]) {
      await daemonRequest(this.dataDir, this.port, `/api/v1/namespaces/default/pods/${p.metadata.name}?gracePeriodSeconds=0`, { method: 'DELETE' });
    }
    await until('every pod deleted', async () => (await this.get('/api/v1/namespaces/default/pods')).items.length === 0, 20_000);
    await this.stop('SIGTERM');
  }
}

/** Live processes whose command line names `marker` (each container's shell has it as `$0`). */
export function processesOf(marker: string): number[] {
  return readdirSync('/proc').filter((e) => /^\d+$/.test(e)).map(Number).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker) && alive(pid);
    } catch {
      return false;
    }
  });
}

/** The `command` of a container: `sh -c script marker` (the marker names its processes). */
export const sh = (script: string, marker: string): string => JSON.stringify(['sh', '-c', script, marker]);
