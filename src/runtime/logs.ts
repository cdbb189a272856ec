/**
 * Container logs of a runtime adapter: one file per instance under
 * `<dataDir>/pods/<podUid>/logs/<container>/<attempt>.log` (`<attempt>.<n>.log` if taken, never
 * overwritten), the newest {@link LOGS_KEPT} kept, so `logs --previous` works. The processes write
 * to the files directly (an append descriptor), so a line written survives a podvisor crash.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { isSafeSegment, safeSegment } from './proc-util.js';

/** Log files kept per container: the current instance's and the previous one's. */
export const LOGS_KEPT = 2;

/** The log files of every container of a runtime, in start order. */
export class InstanceLogs {
  /** `podUid/container` -> log files, oldest first. */
  private readonly history = new Map<string, string[]>();
  /** Log directories known to exist. */
  private readonly made = new Set<string>();

  constructor(private readonly dataDir: string, private readonly dirMode = 0o755) {}

  private dir(podUid: string, container: string): string {
    return path.join(this.dataDir, 'pods', safeSegment(podUid, 'pod UID'), 'logs', container);
  }

  /**
   * The files of a container, oldest first; seeded from disk (modification times) for logs
   * written before this process existed.
   */
  private files(podUid: string, container: string): string[] {
    const key = `${podUid}/${container}`;
    let hist = this.history.get(key);
    if (hist) return hist;
    hist = [];
    const dir = this.dir(podUid, container);
    try {
      const found = fs.readdirSync(dir).flatMap((f) => {
        const m = /^(\d+)(?:\.(\d+))?\.log$/.exec(f);
        if (!m) return [];
        const p = path.join(dir, f);
        return [{ p, mtime: fs.statSync(p).mtimeMs, attempt: Number(m[1]), n: Number(m[2] ?? 0) }];
      });
      found.sort((a, b) => a.mtime - b.mtime || a.attempt - b.attempt || a.n - b.n);
      hist = found.map((f) => f.p);
    } catch {
      // no logs yet
    }
    this.history.set(key, hist);
    return hist;
  }

  /** Creates a fresh log file for an instance; returns its path and an append descriptor. */
  async open(podUid: string, container: string, attempt: number): Promise<{ file: string; fd: number }> {
    const dir = this.dir(podUid, container);
    // Made once per container (a thread pool round trip less on the restart path).
    if (!this.made.has(dir)) {
      await fsp.mkdir(dir, { recursive: true, mode: this.dirMode });
      this.made.add(dir);
    }
    const hist = this.files(podUid, container); // seed from disk before adding the new file
    for (let n = 0; ; n++) {
      const file = path.join(dir, n === 0 ? `${attempt}.log` : `${attempt}.${n}.log`);
      try {
        const fd = fs.openSync(file, 'ax', 0o640);
        hist.push(file);
        return { file, fd };
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
    }
  }

  /** The instance started: deletes all but the newest {@link LOGS_KEPT} files of the container. */
  rotate(podUid: string, container: string, current: string): void {
    const key = `${podUid}/${container}`;
    const hist = (this.history.get(key) ?? []).filter((p) => p !== current);
    hist.push(current);
    while (hist.length > LOGS_KEPT) {
      const old = hist.shift();
      if (old !== undefined) fs.rmSync(old, { force: true });
    }
    this.history.set(key, hist);
  }

  /** The instance never started: its (empty) log file goes. */
  async discard(podUid: string, container: string, file: string): Promise<void> {
    await fsp.unlink(file).catch(() => {});
    const key = `${podUid}/${container}`;
    const hist = this.history.get(key);
    if (hist) this.history.set(key, hist.filter((p) => p !== file));
  }

  /** The newest (or, with `previous`, the second newest) existing log file of a container. */
  path(podUid: string, container: string, previous: boolean): string | undefined {
    if (!isSafeSegment(podUid) || !isSafeSegment(container)) return undefined;
    const existing = this.files(podUid, container).filter((p) => fs.existsSync(p));
    return existing[existing.length - (previous ? 2 : 1)];
  }

  /** Forgets a pod whose data was deleted. */
  forgetPod(podUid: string): void {
    for (const key of [...this.history.keys()]) if (key.startsWith(`${podUid}/`)) this.history.delete(key);
    for (const dir of [...this.made]) if (dir.startsWith(`${this.dir(podUid, '')}`)) this.made.delete(dir);
  }
}
