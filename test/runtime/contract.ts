/**
 * The runtime contract suite (ARCHITECTURE.md "Tests, by layer" 3): what every
 * `ContainerRuntime` adapter must do, checked with real processes (`/bin/sh`, `sleep`).
 * Each adapter's test file calls {@link runtimeContract} once.
 */
import { existsSync, mkdirSync, readFileSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  StartError, type ContainerHandle, type ContainerRuntime, type ContainerStartSpec, type MountSpec, type Sandbox,
} from '../../src/runtime/types.js';
import {
  hostPidsOf, isAlive, logContent, logRecords, makeTempDir, privilegedTests, rand, readIfExists, readPids, sessionOf, settlesWithin, waitFor,
} from './helpers.js';

/** What an adapter declares about itself, where Kubernetes-faithful behaviour differs. */
export interface ContractOptions {
  /**
   * Each container has its own PID namespace and its main process is PID 1 there: the kernel
   * ignores signals without a handler sent to it (`kill -TERM $$` does nothing, SIGTERM from
   * outside neither; only SIGKILL from outside works), exactly as in a Kubernetes container.
   */
  pid1?: boolean;
}

const itPrivileged = privilegedTests ? it : it.skip;

/**
 * Registers the contract tests for one adapter. `makeRuntime` gets a fresh data directory per
 * test; the suite closes the runtime and removes its temp dir afterwards. Tests that need root
 * (cgroups, mount namespaces) run as root and always under `CI=true`.
 */
export function runtimeContract(name: string, makeRuntime: (dataDir: string) => Promise<ContainerRuntime>, opts: ContractOptions = {}): void {
  describe(`ContainerRuntime contract: ${name}`, () => {
    let tmp: { dir: string; remove: () => void };
    let rt: ContainerRuntime;
    let sb: Sandbox;
    /** Scratch dir the containers write their observations to (passed as $OUT). */
    let out: string;
    let podUid: string;

    beforeEach(async () => {
      tmp = makeTempDir('podvisor-rt-');
      out = join(tmp.dir, 'out');
      mkdirSync(out);
      rt = await makeRuntime(join(tmp.dir, 'data'));
      podUid = `uid-${rand()}`;
      sb = await rt.createSandbox({ podUid, podName: 'p', namespace: 'default', emptyDirs: ['data'] });
    });

    afterEach(async () => {
      await rt.close();
      tmp.remove();
    });

    function spec(container: string, script: string, extra: Partial<ContainerStartSpec> = {}): ContainerStartSpec {
      return {
        sandbox: sb, podName: 'p', namespace: 'default', name: container, attempt: 0,
        argv: ['/bin/sh', '-c', script],
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OUT: out },
        mounts: [],
        ...extra,
      };
    }
    const start = (container: string, script: string, extra: Partial<ContainerStartSpec> = {}): Promise<ContainerHandle> =>
      rt.startContainer(spec(container, script, extra));
    /** Waits for a file the container writes with `echo … > file`: complete once it ends in a newline. */
    const ready = (file = 'ready'): Promise<string> =>
      waitFor(() => { const t = readIfExists(join(out, file)); return t?.endsWith('\n') === true && t; }, 5_000, `${file} written by the container`);

    describe('exit codes', () => {
      it('reports the exit code, and 128 + signal for a signalled main process', async () => {
        if (opts.pid1) {
          // PID 1 of its namespace: a self-signal or a SIGTERM without handler is ignored; a
          // SIGKILL from outside ends it with 137.
          const [a, b] = await Promise.all([start('a', 'exit 3'), start('b', 'kill -TERM $$; kill -KILL $$; echo ready > "$OUT/ready"; exec sleep 1000')]);
          expect(await a.exited).toMatchObject({ exitCode: 3, oomKilled: false });
          await ready();
          rt.signal(b.id, 'SIGTERM');
          expect(await settlesWithin(b.exited, 300)).toBe(false);
          await rt.killAll(b.id);
          expect(await b.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
          return;
        }
        const [a, b, c] = await Promise.all([
          start('a', 'exit 3'),
          start('b', 'kill -TERM $$'),
          start('c', 'kill -KILL $$'),
        ]);
        const [ea, eb, ec] = await Promise.all([a.exited, b.exited, c.exited]);
        expect(ea).toMatchObject({ exitCode: 3, oomKilled: false });
        expect(ea.signal).toBeUndefined();
        expect(eb).toMatchObject({ exitCode: 143, signal: 'SIGTERM', oomKilled: false });
        expect(ec).toMatchObject({ exitCode: 137, signal: 'SIGKILL', oomKilled: false });
        expect(a.id).toMatch(new RegExp(`^${rt.name}://.+`));
        expect(a.pid).toBeGreaterThan(0);
        expect(ea.finishedAt).toBeGreaterThanOrEqual(a.startedAt);
      });

      it('reports 0 when the main process handles SIGTERM and exits 0', async () => {
        const h = await start('trap', 'trap "exit 0" TERM; sleep 1000 & echo ready > "$OUT/ready"; wait');
        await ready();
        rt.signal(h.id, 'SIGTERM');
        expect(await h.exited).toMatchObject({ exitCode: 0 });
      });
    });

    describe('stop semantics', () => {
      it('signal() reaches the main process only', async () => {
        const h = await start('main-only', [
          'sleep 1000 & echo $! > "$OUT/child"',
          'trap \'echo term > "$OUT/main-term"\' TERM',
          'echo ready > "$OUT/ready"',
          'while :; do wait; done',
        ].join('\n'));
        await ready();
        const child = hostPidsOf(readPids(join(out, 'child')), h.pid)[0] ?? -1;
        expect(isAlive(child)).toBe(true);
        rt.signal(h.id, 'SIGTERM');
        await waitFor(() => readIfExists(join(out, 'main-term')), 5_000, 'the main process to handle SIGTERM');
        expect(isAlive(child)).toBe(true); // a group-wide SIGTERM would have killed the sleep
        await rt.killAll(h.id);
        expect(await h.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
        expect(isAlive(child)).toBe(false);
      });

      it('killAll after a grace period kills a process that ignores SIGTERM (137)', async () => {
        const h = await start('stubborn', 'trap "" TERM; echo ready > "$OUT/ready"; sleep 1000');
        await ready();
        rt.signal(h.id, 'SIGTERM');
        expect(await settlesWithin(h.exited, 300)).toBe(false); // the grace period
        await rt.killAll(h.id);
        expect(await h.exited).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
        await rt.killAll(h.id); // safe to repeat
        rt.signal(h.id, 'SIGTERM'); // and to signal an exited instance
      });
    });

    describe('no process outlives its container', () => {
      it('kills background grandchildren when the main process exits', async () => {
        const h = await start('bg', 'sleep 1000 & echo $! >> "$OUT/pids"; sleep 1000 & echo $! >> "$OUT/pids"; echo ready > "$OUT/ready"; while [ ! -e "$OUT/go" ]; do sleep 0.02; done; exit 0');
        await ready();
        const pids = hostPidsOf(readPids(join(out, 'pids')), h.pid);
        expect(pids).toHaveLength(2);
        for (const pid of pids) expect(isAlive(pid), `grandchild ${pid} before the exit`).toBe(true);
        writeFileSync(join(out, 'go'), '');
        expect(await h.exited).toMatchObject({ exitCode: 0 });
        for (const pid of pids) expect(isAlive(pid), `grandchild ${pid}`).toBe(false);
      });

      itPrivileged('kills a grandchild that left the process group with setsid', async () => {
        const h = await start('setsid', 'setsid sleep 1000 & echo $! > "$OUT/gc"; exec sleep 1000');
        const gc = hostPidsOf([Number((await ready('gc')).trim())], h.pid)[0] ?? -1;
        await waitFor(() => sessionOf(gc) === gc, 5_000, 'the grandchild to call setsid');
        if (opts.pid1) {
          await rt.killAll(h.id);
          expect(await h.exited).toMatchObject({ exitCode: 137 });
        } else {
          rt.signal(h.id, 'SIGTERM');
          expect(await h.exited).toMatchObject({ exitCode: 143 });
        }
        expect(isAlive(gc)).toBe(false);
      });
    });

    describe('logs', () => {
      it('captures stdout and stderr, and keeps the previous instance\'s log', async () => {
        const h1 = await start('logger', 'echo to-stdout; echo to-stderr >&2');
        await h1.exited;
        const first = rt.logPath(podUid, 'logger', false);
        expect(first).toBeDefined();
        const firstText = logContent(first ?? '');
        expect(firstText).toContain('to-stdout');
        expect(firstText).toContain('to-stderr');
        // CRI records keep each line's stream, and nothing of the runtime's wrappers is in them
        const records = logRecords(first ?? '').map((r) => `${r.stream} ${r.partial ? 'P' : 'F'} ${r.content}`).sort();
        expect(records).toEqual(['stderr F to-stderr', 'stdout F to-stdout']);
        expect(rt.logPath(podUid, 'logger', true)).toBeUndefined();
        await rt.removeContainer(h1.id);

        const h2 = await start('logger', 'echo second-instance', { attempt: 1 });
        await h2.exited;
        const previous = rt.logPath(podUid, 'logger', true);
        const current = rt.logPath(podUid, 'logger', false);
        expect(previous).toBe(first);
        expect(current).not.toBe(first);
        expect(logContent(previous ?? '')).toBe(firstText);
        expect(logContent(current ?? '')).toContain('second-instance');
        expect(rt.logPath(podUid, 'no-such-container', false)).toBeUndefined();
      });
    });

    describe('process context', () => {
      it('applies env and workingDir', async () => {
        const wd = join(tmp.dir, 'work dir');
        mkdirSync(wd);
        const h = await start('ctx', 'pwd -P > "$OUT/pwd"; printf %s "$FOO" > "$OUT/foo"', {
          workingDir: wd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', OUT: out, FOO: 'bar baz' },
        });
        expect(await h.exited).toMatchObject({ exitCode: 0 });
        expect(readFileSync(join(out, 'pwd'), 'utf8').trim()).toBe(realpathSync(wd));
        expect(readFileSync(join(out, 'foo'), 'utf8')).toBe('bar baz');
      });

      it('rejects a missing command with RunContainerError', async () => {
        const err = await rt.startContainer(spec('nocmd', '', { argv: [`podvisor-no-such-command-${rand()}`] })).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StartError);
        expect((err as StartError).reason).toBe('RunContainerError');
        expect((err as StartError).message).toContain('"nocmd"');
        expect((err as StartError).message).toContain('podvisor-no-such-command-');
      });

      it('rejects a missing workingDir with CreateContainerError', async () => {
        const err = await start('nowd', 'exit 0', { workingDir: join(tmp.dir, 'missing') }).catch((e: unknown) => e);
        expect(err).toBeInstanceOf(StartError);
        expect((err as StartError).reason).toBe('CreateContainerError');
        expect((err as StartError).message).toContain('"nowd"');
      });
    });

    describe('volumes', () => {
      itPrivileged('mounts an emptyDir at its mountPath, read-write and read-only, shared by the pod', async () => {
        const emptyDir = sb.emptyDirPaths.data ?? '';
        expect(existsSync(emptyDir)).toBe(true);
        const mp = join(tmp.dir, `mnt-${rand()}`, 'data');
        const mount = (readOnly: boolean): MountSpec[] => [{ volume: 'data', hostPath: emptyDir, mountPath: mp, readOnly }];
        expect(rt.checkMounts(mount(false))).toEqual([]);
        const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', OUT: out, MP: mp };

        const w = await start('writer', 'echo hello > "$MP/f"', { env, mounts: mount(false) });
        expect(await w.exited).toMatchObject({ exitCode: 0 });
        expect(readFileSync(join(emptyDir, 'f'), 'utf8')).toBe('hello\n');
        expect(existsSync(join(mp, 'f'))).toBe(false); // a private bind mount, not a copy on the host path

        const r = await start('reader', 'cat "$MP/f" > "$OUT/seen"; if echo x > "$MP/g"; then exit 0; else exit 9; fi', { env, mounts: mount(true) });
        expect(await r.exited).toMatchObject({ exitCode: 9 });
        expect(readFileSync(join(out, 'seen'), 'utf8')).toBe('hello\n');
        expect(existsSync(join(emptyDir, 'g'))).toBe(false);

        await rt.releaseSandbox(sb, { deleteData: true });
        expect(existsSync(emptyDir)).toBe(false);
        await rt.releaseSandbox(sb, { deleteData: true }); // idempotent
      });
    });

    describe('exec', () => {
      it('runs in the container context, reports exit code and output, and times out', async () => {
        const wd = join(tmp.dir, 'wd');
        mkdirSync(wd);
        const h = await start('execd', 'exec sleep 1000', { workingDir: wd, env: { PATH: process.env.PATH ?? '/usr/bin:/bin', FOO: 'from-env' } });
        const r = await rt.exec(h.id, ['/bin/sh', '-c', 'printf "%s|" "$FOO"; pwd -P; echo oops >&2; exit 4'], { timeoutMs: 5_000 });
        expect(r).toEqual({ exitCode: 4, output: `from-env|${realpathSync(wd)}\noops\n`, timedOut: false });

        const missing = await rt.exec(h.id, [`podvisor-no-such-command-${rand()}`], { timeoutMs: 5_000 });
        expect(missing.exitCode).not.toBe(0);
        expect(missing.output).toContain('podvisor-no-such-command-');
        expect(missing.timedOut).toBe(false);

        const t0 = Date.now();
        const slow = await rt.exec(h.id, ['/bin/sh', '-c', 'sleep 1000; echo never'], { timeoutMs: 300 });
        expect(slow.timedOut).toBe(true);
        expect(slow.exitCode).not.toBe(0);
        expect(Date.now() - t0).toBeLessThan(3_000);
        expect(await settlesWithin(h.exited, 0)).toBe(false); // the container itself is untouched
      });

      itPrivileged('sees the container\'s mounts', async () => {
        const emptyDir = sb.emptyDirPaths.data ?? '';
        writeFileSync(join(emptyDir, 'f'), 'in-volume');
        const mp = join(tmp.dir, `mnt-${rand()}`, 'data');
        const h = await start('execm', 'exec sleep 1000', { mounts: [{ volume: 'data', hostPath: emptyDir, mountPath: mp, readOnly: false }] });
        const r = await rt.exec(h.id, ['cat', join(mp, 'f')], { timeoutMs: 5_000 });
        expect(r).toEqual({ exitCode: 0, output: 'in-volume', timedOut: false });
        expect(existsSync(join(mp, 'f'))).toBe(false); // only inside the container's mount namespace
      });
    });

    describe('close', () => {
      it('leaves no process of any instance alive', async () => {
        const hs = await Promise.all(['one', 'two'].map((c) =>
          start(c, `sleep 1000 & echo $! > "$OUT/${c}"; exec sleep 1000`)));
        const pids = [...hs.map((h) => h.pid)];
        for (const [i, c] of ['one', 'two'].entries()) pids.push(hostPidsOf([Number((await ready(c)).trim())], hs[i]?.pid ?? -1)[0] ?? -1);
        for (const pid of pids) expect(isAlive(pid)).toBe(true);
        await rt.close();
        for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
        for (const h of hs) expect(await settlesWithin(h.exited, 0)).toBe(true);
        await rt.close(); // idempotent
      });
    });
  });
}
