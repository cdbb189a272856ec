/**
 * conmon's exit directory: when a container exits, conmon writes its exit status (the code, or
 * 128 + the signal number) atomically to `<exitDir>/<container ID>`, after draining the
 * container's output into the log. One inotify watch on the directory tells podvisor of every
 * exit, whoever started the container (this process or an earlier one).
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { MonitorExit } from './types.js';
import { signalOfExitCode } from './signals.js';

/** Parses an exit file; undefined while it is not (yet) a number. */
export function readExitFile(file: string): MonitorExit | undefined {
  try {
    const text = fs.readFileSync(file, 'utf8').trim();
    if (!/^-?\d+$/.test(text)) return undefined;
    const st = fs.statSync(file);
    let exitCode = Number(text);
    // conmon writes -1 when it could not tell (a timeout): the kubelet's unknown exit is 137 too.
    if (exitCode < 0 || exitCode > 255) exitCode = 137;
    const exit: MonitorExit = { exitCode, finishedAt: Math.floor(st.mtimeMs) };
    const signal = signalOfExitCode(exitCode);
    if (signal !== undefined) exit.signal = signal;
    return exit;
  } catch {
    return undefined;
  }
}

/** Waits for exit files in one directory. */
export class ExitDir {
  private watcher: fs.FSWatcher | undefined;
  private readonly waiting = new Map<string, (e: MonitorExit) => void>();
  private readonly promises = new Map<string, Promise<MonitorExit>>();

  constructor(readonly dir: string) {}

  /** Creates the directory; call once before the first launch. */
  async init(): Promise<void> {
    await fsp.mkdir(this.dir, { recursive: true, mode: 0o700 });
  }

  private file(id: string): string {
    return path.join(this.dir, id);
  }

  /** The exit of `id` if its file is there. */
  read(id: string): MonitorExit | undefined {
    return readExitFile(this.file(id));
  }

  /** Resolves when the exit file of `id` appears (at once if it is there). One promise per ID. */
  wait(id: string): Promise<MonitorExit> {
    const known = this.promises.get(id);
    if (known) return known;
    const p = new Promise<MonitorExit>((resolve) => {
      this.waiting.set(id, (e) => {
        this.waiting.delete(id);
        this.refWhileWaiting();
        resolve(e);
      });
    });
    this.promises.set(id, p);
    this.ensureWatching();
    this.refWhileWaiting();
    this.check(id);
    return p;
  }

  private check(id: string): void {
    const resolve = this.waiting.get(id);
    if (!resolve) return;
    const e = this.read(id);
    if (e) resolve(e);
  }

  /** A pending exit keeps the process alive (as a child process would), nothing else does. */
  private refWhileWaiting(): void {
    if (this.waiting.size > 0) this.watcher?.ref();
    else this.watcher?.unref();
  }

  private ensureWatching(): void {
    if (this.watcher) return;
    this.watcher = fs.watch(this.dir, { persistent: false }, (_event, name) => {
      if (name === null) {
        for (const id of [...this.waiting.keys()]) this.check(id);
        return;
      }
      this.check(name);
    });
    this.watcher.on('error', () => {
      // The directory went away (data dir deleted): nothing more can be reported.
      this.watcher = undefined;
    });
    // Exits written between the last check and the watch's start.
    for (const id of [...this.waiting.keys()]) this.check(id);
  }

  /** Removes the exit file of a removed container and forgets it. */
  async forget(id: string): Promise<void> {
    this.waiting.delete(id);
    this.promises.delete(id);
    this.refWhileWaiting();
    await fsp.rm(this.file(id), { force: true });
  }

  /** Stops watching; pending waits never settle (podvisor is stopping). */
  close(): void {
    this.watcher?.close();
    this.watcher = undefined;
  }
}
