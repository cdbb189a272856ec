/**
 * Instances prepared ahead ("spares"), shared by the monitors. A spare is a shell that will
 * become a container's main process: it was started (by conmon, or by podvisor), joined a leaf
 * cgroup of its own where it could, and waits for one line on a FIFO or pipe before it sources
 * its command. Launching one writes a file and a line, which takes the process start, conmon's
 * start and the cgroup join off the restart path, as runc's create/start split takes them off
 * CRI-O's.
 *
 * A few spares are kept ready (see the monitors). Replacements start only once a launch's
 * container runs (after the caller's reaction to the start): their spawns would otherwise take
 * the event loop and a core on the restart path.
 */
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { shq, SH } from '../proc-util.js';
import type { LaunchSpec } from './types.js';

/** What the pool needs of a spare. */
export interface SpareBase {
  id: string;
  /** The leaf cgroup its process joined ahead, if any. */
  cgroup?: string;
  /** Its process is gone (killed from outside while it waited): it is never handed out. */
  exited?: boolean;
}

/**
 * A pool of spares; `start` prepares one for an ID, `end` ends one that will not be launched.
 * `size` spares are kept ready (a pod's in-place restart starts several containers at once).
 */
export class SparePool<S extends SpareBase> {
  private readonly ready: S[] = [];
  private readonly taken = new Map<string, S>();
  private readonly warming = new Set<Promise<S>>();
  private closed = false;

  constructor(
    private readonly start: (id: string) => Promise<S>,
    private readonly end: (s: S) => Promise<void>,
    private readonly newId: () => string,
    private readonly size = 1,
  ) {}

  /**
   * The next launch's spare: a ready one, else the first of those being started (waiting for
   * it is never slower than starting another); undefined when none is coming (the launch
   * starts its own).
   */
  async take(): Promise<S | undefined> {
    let spare = this.nextReady();
    while (!spare && this.warming.size > 0) {
      await Promise.race([...this.warming].map((p) => p.catch(() => undefined)));
      spare = this.nextReady(); // unless a concurrent reservation took it first
    }
    if (spare) this.taken.set(spare.id, spare);
    return spare;
  }

  /** The first ready spare whose process still waits; dead ones are ended on the way. */
  private nextReady(): S | undefined {
    for (let s = this.ready.shift(); s; s = this.ready.shift()) {
      if (s.exited !== true) return s;
      void this.end(s).catch(() => undefined);
    }
    return undefined;
  }

  /** The spare reserved under `id` (removed from the reserved ones), if any. */
  claim(id: string): S | undefined {
    const s = this.taken.get(id);
    this.taken.delete(id);
    return s;
  }

  /** Starts spares until `size` are ready or being started. */
  replenish(): void {
    while (!this.closed && this.ready.length + this.warming.size < this.size) {
      const p = this.start(this.newId());
      this.warming.add(p);
      p.then((s) => {
        this.warming.delete(p);
        // After close() it is close()'s to end (it waits for the spares being started).
        if (!this.closed) this.ready.push(s);
      }, () => {
        this.warming.delete(p);
      });
    }
  }

  /** Starts the next spares once the current work of the event loop is done. */
  replenishSoon(): void {
    setImmediate(() => this.replenish());
  }

  /** A reservation that will not be launched: its spare ends. True when there was one. */
  async giveBack(id: string): Promise<boolean> {
    const s = this.claim(id);
    if (!s) return false;
    await this.end(s);
    this.replenish();
    return true;
  }

  /** Ends every spare, including those being started. */
  async close(): Promise<void> {
    this.closed = true;
    const warming = [...this.warming];
    const spares = [...this.ready.splice(0), ...this.taken.values()];
    this.taken.clear();
    for (const late of await Promise.all(warming.map((p) => p.catch(() => undefined)))) {
      if (late && !spares.includes(late)) spares.push(late);
    }
    await Promise.all(spares.map((s) => this.end(s)));
  }
}

/**
 * Moves a spare's waiting process into a new leaf `<root>/spare-<id>` (it has no children yet,
 * so whatever it starts is born there). The leaf, or undefined when that failed (the runtime's
 * wrapper joins its own leaf at launch instead). With `accounting` (other v1 hierarchies the
 * runtime counts usage in), it joins a leaf of the same name in each too, where it can: the
 * runtime renames those as it renames the main one, and joins itself where one is missing.
 */
export async function joinSpareCgroup(root: string | undefined, id: string, pid: number, accounting: readonly string[] = []): Promise<string | undefined> {
  if (root === undefined) return undefined;
  const join = async (leaf: string): Promise<boolean> => {
    try {
      await fsp.mkdir(leaf);
      await fsp.writeFile(path.join(leaf, 'cgroup.procs'), String(pid));
      return true;
    } catch {
      await fsp.rmdir(leaf).catch(() => undefined);
      return false;
    }
  };
  const leaf = spareCgroupOf(root, id);
  if (!(await join(leaf))) return undefined;
  for (const r of accounting) await join(spareCgroupOf(r, id));
  return leaf;
}

/**
 * Removes the empty `spare-*` leaves under `root` (and the `accounting` roots) that processes
 * which died before their spares did left (a leaf with a live spare is not empty, and stays).
 */
export async function sweepSpareCgroups(root: string | undefined, accounting: readonly string[] = []): Promise<void> {
  if (root === undefined) return;
  for (const r of [root, ...accounting]) {
    for (const name of await fsp.readdir(r).catch(() => [] as string[])) {
      if (name.startsWith('spare-')) await fsp.rmdir(path.join(r, name)).catch(() => undefined);
    }
  }
}

/** The leaf a spare's process joins ahead under `root`. */
export function spareCgroupOf(root: string, id: string): string {
  return path.join(root, `spare-${id}`);
}

/** Removes a spare's leaves once its process is gone (a leaf the runtime renamed is the runtime's). */
export async function removeSpareCgroup(root: string | undefined, id: string, accounting: readonly string[] = []): Promise<void> {
  if (root === undefined) return;
  for (const r of [root, ...accounting]) await fsp.rmdir(spareCgroupOf(r, id)).catch(() => undefined);
}

/**
 * The script a spare's waiting shell runs (`sh -c SCRIPT sh COMMAND_FILE`): it waits for the
 * line `go` on fd 4 (EOF, when podvisor is gone, ends it), closes fd 4 and sources the command
 * file ({@link commandOf}).
 */
export const WAIT_SCRIPT = 'read -r go <&4 && [ "$go" = go ] || exit 0; exec 4<&-; . "$1"';

/**
 * The command file a spare's waiting shell sources: the container's exact environment (the
 * shell has only PATH), then the wrapper. A wrapper that is a `sh -c` script runs in that very
 * shell (one exec less on the restart path); others are exec'd.
 */
export function commandOf(spec: Pick<LaunchSpec, 'argv' | 'env'>): string {
  const names = Object.keys(spec.env);
  if (!names.every((n) => /^[A-Za-z_][A-Za-z0-9_]*$/.test(n))) {
    return `exec /usr/bin/env -i ${names.map((n) => shq(`${n}=${spec.env[n] ?? ''}`)).join(' ')} ${spec.argv.map(shq).join(' ')}\n`;
  }
  const env = `unset PATH; ${names.map((n) => `export ${n}=${shq(spec.env[n] ?? '')}`).join('; ')}\n`;
  const [cmd, flag, script, , ...args] = spec.argv;
  if (cmd === SH && flag === '-c' && script !== undefined && spec.argv.length >= 4) {
    return `${env}set -- ${args.map(shq).join(' ')}\n${script}\n`;
  }
  return `${env}exec ${spec.argv.map(shq).join(' ')}\n`;
}

/** Writes a command file readable by its owner only. */
export function writeCommand(file: string, spec: Pick<LaunchSpec, 'argv' | 'env'>): void {
  fs.writeFileSync(file, commandOf(spec), { mode: 0o600 });
}
