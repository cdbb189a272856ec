/**
 * The `direct` monitor: podvisor itself is the wrapper's parent and writes its output to the
 * CRI format log. The fallback where conmon is not installed (a fresh machine with nothing but
 * Node): containers end with podvisor, and a later podvisor process cannot re-attach to them
 * (it finds them `unknown` and the runtime kills what is left).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { errText, exitCodeOf, readSetup, watchChild } from '../proc-util.js';
import { CriLogWriter } from './cri-writer.js';
import type { LaunchSpec, Launched, Monitor, MonitorExit, Reattached } from './types.js';

/** The direct monitor. */
export class DirectMonitor implements Monitor {
  readonly kind = 'direct';
  readonly outlivesPodvisor = false;

  reserveId(): Promise<string> {
    return Promise.resolve(randomBytes(16).toString('hex'));
  }

  launch(spec: LaunchSpec): Promise<Launched> {
    const [cmd, ...args] = spec.argv;
    if (cmd === undefined) return Promise.reject(new Error('empty wrapper command'));
    // The set-up channel is a pipe here (read until `OK` or its end): nobody outlives this
    // process, so nothing needs the file, and a pipe spares a watch and reads per start.
    let child;
    try {
      child = spawn(cmd, args, { detached: true, env: spec.env, cwd: '/', stdio: ['ignore', 'pipe', 'pipe', 'pipe'] });
    } catch (err) {
      return Promise.reject(new Error(`cannot start the container's wrapper: ${errText(err)}`));
    }
    const watched = watchChild(child);
    const pid = child.pid;
    if (pid === undefined) {
      return watched.spawned.then((e) => {
        throw new Error(`cannot start the container's wrapper: ${e === true ? 'no PID' : errText(e)}`);
      });
    }
    const log = new CriLogWriter(spec.logPath);
    log.follow(child.stdout, 'stdout');
    log.follow(child.stderr, 'stderr');
    const exit: Promise<MonitorExit> = watched.exit.then((e) => {
      const finishedAt = Date.now();
      if (!('code' in e)) return { exitCode: 128, finishedAt };
      const m: MonitorExit = { exitCode: exitCodeOf(e.code, e.signal), finishedAt };
      if (e.signal !== null) m.signal = e.signal;
      return m;
    });
    const setup = readSetup(child.stdio[3]);
    return Promise.resolve({ pid, setup, exit });
  }

  reattach(): Promise<Reattached> {
    return Promise.resolve({ state: 'unknown', why: 'podvisor was its parent (no monitor: conmon is not installed)' });
  }

  forget(): Promise<void> {
    return Promise.resolve();
  }

  close(): Promise<void> {
    // Nothing is watched beyond the children themselves.
    return Promise.resolve();
  }
}
