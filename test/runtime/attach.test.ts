/**
 * Kubernetes' `stdin`, `stdinOnce` and `tty` container fields and `attach` (`kubectl attach`,
 * `kubectl run -i [-t]`) with real processes, on every runtime: `host` with the direct monitor
 * and, where conmon is installed, the conmon monitor; `sandbox` (both monitors) and `oci` when
 * the machine can run them (root and their tools; the oci image is busybox-static pushed to a
 * registry on 127.0.0.1 by the registry fixture). Under `CI=true` a missing privilege or
 * dependency fails instead of skipping.
 *
 * Each runtime gets the same cases: a `stdin` container echoing what two successive attaches
 * write (a detach never ends it); `stdinOnce` closing stdin when the first stdin attach ends
 * (`wc -c` then counts and exits 0), by the end of its stdin or by a detach; an interactive
 * shell on a `tty` through attach (prompt, echo, answers, `stty size` before and after a
 * resize); an output-only attach getting live output only, stdout and stderr apart, and ending
 * with the container; SIGTERM through `signal` stopping a tty container with its exit code; a
 * container without stdio fields started exactly as before (stdin `/dev/null`, no FIFO); and
 * attaches refused for what does not run or has no stdin; a tty container's environment; start
 * failures of tty and stdin containers. Under conmon, attaches to containers re-adopted by a new
 * runtime after a restart. The pods are attach-helpers.ts'; the log follower's own cases are in
 * log-follow.test.ts.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ociSpec } from '../../src/core/oci-spec.js';
import { HostRuntime } from '../../src/runtime/host.js';
import { findConmon } from '../../src/runtime/monitor/conmon.js';
import { createOciRuntime, ociAvailability } from '../../src/runtime/oci-runtime.js';
import { SandboxRuntime, sandboxAvailability } from '../../src/runtime/sandbox.js';
import { StartError, StreamUnavailableError, type AttachStream, type ContainerHandle, type ContainerRuntime } from '../../src/runtime/types.js';
import { fixtureProblem } from '../oci/registry-fixture.js';
import { useOciImage } from './oci-fixture.js';
import {
  PS1, STDIN, STDIN_ONCE, TTY, collect, hostCommandPod, imagePod, reattachSandboxes, see, type Pod,
} from './attach-helpers.js';
import { logContent, makeTempDir, privilegedTests, rand, settlesWithin, waitFor } from './helpers.js';

const CI = process.env.CI === 'true';
const sandboxProblem = await sandboxAvailability();
const ociProblem = (await ociAvailability()) ?? fixtureProblem();
/** conmon is a Debian package: without it only the direct monitor is tested (under CI it must be there). */
const withConmon = !('missing' in findConmon(process.env.PATH ?? '')) || CI;
/** A bridge and subnet of this file's own (removed at the end). */
const net = { bridge: 'pv-attach0', subnet: '10.88.249.0/24' } as const;

/**
 * Registers the cases for one runtime. `setup` makes a fresh runtime and pod for each case (in
 * the case's temp dir).
 */
function attachContract(name: string, setup: (dir: string) => Promise<Pod>): void {
  describe(`attach: ${name}`, () => {
    let tmp: { dir: string; remove: () => void };
    let pod: Pod;
    const attaches: AttachStream[] = [];

    beforeEach(async () => {
      tmp = makeTempDir('podvisor-attach-');
      pod = await setup(tmp.dir);
    });
    afterEach(async () => {
      for (const a of attaches.splice(0)) a.detach();
      await pod.close();
      tmp.remove();
    });

    const attach = async (h: ContainerHandle, stdin: boolean): Promise<AttachStream> => {
      const a = await pod.rt.attach(h.id, { stdin });
      attaches.push(a);
      return a;
    };
    function logOf(c: string): string {
      const p = pod.rt.logPath(pod.sb.podUid, c, false);
      try {
        return p === undefined ? '' : logContent(p);
      } catch {
        return '';
      }
    }

    it('stdin: what two successive attaches write reaches the container; detaching never ends it', async () => {
      const h = await pod.start('cat', 'exec cat', STDIN);
      const a = await attach(h, true);
      expect(a.stderr).toBeDefined();
      const out1 = collect(a.stdout);
      a.stdin?.write('one\n');
      await see(out1, 'one\n');
      a.detach();
      await out1.ended;
      a.detach(); // idempotent
      expect(await settlesWithin(h.exited, 300)).toBe(false);
      const b = await attach(h, true);
      const out2 = collect(b.stdout);
      b.stdin?.write('two\n');
      await see(out2, 'two\n');
      expect(out2.text()).toBe('two\n'); // live output only: not the first attach's
      // Without stdinOnce the end of a client's stdin is no EOF of the container's.
      b.stdin?.end('three\n');
      await see(out2, 'three\n');
      const c = await attach(h, true);
      const out3 = collect(c.stdout);
      c.stdin?.write('four\n');
      await see(out3, 'four\n');
      expect(await settlesWithin(h.exited, 200)).toBe(false);
      expect(logOf('cat')).toBe('one\ntwo\nthree\nfour\n');
      await pod.rt.killAll(h.id);
      await Promise.all([out2.ended, out3.ended]); // the streams end with the instance
    });

    it('stdinOnce: the end of the first attach\'s stdin closes the container\'s (EOF after the input), the attach sees the rest', async () => {
      const h = await pod.start('wc', 'wc -c; echo after', STDIN_ONCE);
      const a = await attach(h, true);
      const out = collect(a.stdout);
      const data = 'x'.repeat(100_000); // more than a FIFO holds
      a.stdin?.write(data.slice(0, 40_000));
      a.stdin?.end(data.slice(40_000));
      await out.ended;
      expect(out.text().replace(/\s+/g, ' ').trim()).toBe('100000 after');
      expect((await h.exited).exitCode).toBe(0);
      await expect(pod.rt.attach(h.id, { stdin: false })).rejects.toBeInstanceOf(StreamUnavailableError);
    });

    it('stdinOnce: a detach of the first stdin attach closes stdin too; later input is dropped', async () => {
      const h = await pod.start('wc', 'wc -c; exec sleep 1000', STDIN_ONCE);
      const watcher = await attach(h, false); // output only: its end changes nothing
      const seen = collect(watcher.stdout);
      watcher.detach();
      await seen.ended;
      const a = await attach(h, true);
      a.stdin?.write('12345', () => a.detach());
      await waitFor(() => /\b5\n/.test(logOf('wc')), 15_000, 'wc to count 5 bytes');
      const late = await attach(h, true);
      late.stdin?.write('dropped\n');
      late.detach();
      expect(await settlesWithin(h.exited, 200)).toBe(false);
      expect(logOf('wc').trim()).toBe('5');
    });

    it('tty: an interactive shell shows its prompt, echoes, answers, and sees a resize', async () => {
      const h = await pod.start('sh', '', TTY, ['sh', '-i']);
      const a = await attach(h, true);
      expect(a.stderr).toBeUndefined();
      const out = collect(a.stdout);
      a.stdin?.write('\n'); // the first prompt came before the attach, as with kubectl attach
      await see(out, PS1);
      a.stdin?.write('echo $((6*7))\n');
      await see(out, '42\r\n');
      expect(out.text()).toContain('echo $((6*7))'); // the terminal's echo
      a.stdin?.write('stty size\n');
      await see(out, '24 80\r\n', 'the default size');
      a.resize({ width: 100, height: 40 });
      // The resize is applied in the background: ask until the shell sees it.
      await waitFor(() => {
        if (out.text().includes('40 100\r\n')) return true;
        a.stdin?.write('stty size\n');
        return false;
      }, 15_000, 'the new size').catch((err: unknown) => {
        throw new Error(`${String(err)}; got ${JSON.stringify(out.text())}`);
      });
      a.stdin?.write('echo err >&2\n');
      await see(out, 'err\r\n'); // one stream on a terminal
      if (privilegedTests && pod.rt.stats) expect(await pod.rt.stats(h.id)).toBeDefined();
      expect(logOf('sh')).toContain('42\r\n'); // the terminal's output is logged as stdout
      a.detach();
      expect(await settlesWithin(h.exited, 200)).toBe(false);
      const b = await attach(h, true);
      const out2 = collect(b.stdout);
      b.stdin?.write('exit 3\n');
      await out2.ended;
      expect((await h.exited).exitCode).toBe(3);
    });

    it('output only: live output from the attach on (not the history), stdout and stderr apart, ending with the container', async () => {
      const h = await pod.start('count', 'i=0; while [ $i -lt 40 ]; do echo $i; echo e$i >&2; i=$((i+1)); sleep 0.05; done; printf end');
      await waitFor(() => /(^|\n)5\n/.test(logOf('count')), 15_000, 'the first lines');
      const before = logOf('count').split('\n').filter((l) => /^\d+$/.test(l)).map(Number);
      const last = Math.max(...before);
      const a = await attach(h, false);
      expect(a.stdin).toBeUndefined();
      const out = collect(a.stdout);
      const err = collect(a.stderr);
      await Promise.all([out.ended, err.ended]);
      expect((await h.exited).exitCode).toBe(0);
      const lines = out.text().split('\n');
      expect(lines.pop()).toBe('end'); // a last piece without newline
      const nums = lines.map(Number);
      expect(nums[0]).toBeGreaterThan(last);
      expect(nums).toEqual(Array.from({ length: nums.length }, (_, i) => (nums[0] ?? 0) + i));
      expect(nums[nums.length - 1]).toBe(39);
      const errs = err.text().split('\n').filter((l) => l !== '');
      expect(errs.every((l) => /^e\d+$/.test(l))).toBe(true);
      expect(errs[errs.length - 1]).toBe('e39');
    });

    it('signal: SIGTERM stops a tty container with its exit code', async () => {
      const h = await pod.start('trap', 'trap "echo term; exit 42" TERM; echo ready; while :; do sleep 0.05; done', TTY);
      await waitFor(() => logOf('trap').includes('ready'), 15_000, 'the trap');
      pod.rt.signal(h.id, 'SIGTERM');
      expect((await h.exited).exitCode).toBe(42);
      expect(logOf('trap')).toContain('term');
      if (pod.oci) return; // there the command is PID 1 and ignores signals without a handler
      const s = await pod.start('sleep', 'exec sleep 1000', { stdin: false, stdinOnce: false, tty: true });
      const a = await attach(s, false);
      const out = collect(a.stdout);
      pod.rt.signal(s.id, 'SIGTERM');
      expect(await s.exited).toMatchObject({ exitCode: 143, signal: 'SIGTERM' });
      await out.ended;
    });

    it('a tty container\'s environment is exactly the container\'s, plus TERM=xterm', async () => {
      const argv = ['cat', '/proc/self/environ'];
      const plain = await pod.start('plain', '', undefined, argv);
      const tty = await pod.start('tty', '', { stdin: false, stdinOnce: false, tty: true }, argv);
      expect((await plain.exited).exitCode).toBe(0);
      expect((await tty.exited).exitCode).toBe(0);
      const vars = (c: string): string[] => logOf(c).split('\0').map((v) => v.trim()).filter((v) => v !== '').sort();
      expect(vars('plain')).not.toContain('TERM=xterm');
      expect(vars('tty')).toEqual([...vars('plain'), 'TERM=xterm'].sort());
    });

    it('a tty or stdin container whose command cannot be found fails to start, leaving nothing open', async () => {
      const missing = `podvisor-no-such-command-${rand()}`;
      for (const stdio of [TTY, STDIN_ONCE]) {
        const err: unknown = await pod.start('bad', '', stdio, [missing]).then(() => undefined, (e: unknown) => e);
        expect(err).toBeInstanceOf(StartError);
        expect((err as StartError).reason).toBe('RunContainerError');
        expect((err as StartError).message).toContain(missing);
      }
      // The runtime still starts containers with stdio.
      const h = await pod.start('cat', 'exec cat', STDIN);
      const a = await attach(h, true);
      const out = collect(a.stdout);
      a.stdin?.write('ok\n');
      await see(out, 'ok\n');
    });

    it('a container without stdio fields starts as before (stdin /dev/null, no FIFO) and has no stdin to attach to', async () => {
      const h = await pod.start('plain', pod.oci ? 'cat; echo done; exec sleep 1000' : 'readlink /proc/self/fd/0; cat; echo done; exec sleep 1000');
      await waitFor(() => logOf('plain').includes('done'), 15_000, 'the container to read its empty stdin');
      if (!pod.oci) expect(logOf('plain')).toBe('/dev/null\ndone\n');
      const bundle = join(pod.sb.dir, 'containers', h.id.replace(/^\w+:\/\//, ''));
      expect(existsSync(join(bundle, 'stdin'))).toBe(false);
      await expect(pod.rt.attach(h.id, { stdin: true })).rejects.toBeInstanceOf(StreamUnavailableError);
      const a = await attach(h, false);
      const out = collect(a.stdout);
      await pod.rt.killAll(h.id);
      await out.ended;
      expect(out.text()).toBe('');
      await expect(pod.rt.attach(h.id, { stdin: false })).rejects.toBeInstanceOf(StreamUnavailableError);
      await expect(pod.rt.attach(`${pod.rt.name}://0123456789abcdef0123456789abcdef`, { stdin: false })).rejects.toBeInstanceOf(StreamUnavailableError);
    });
  });
}

// ---- re-adoption (conmon) -------------------------------------------------------------------

/**
 * Containers with stdio survive a podvisor restart (conmon): a new runtime re-adopts them, and
 * attaches reach their stdin (the FIFO in the bundle), resize their terminal and signal their
 * command; a `stdinOnce` container read EOF when the first process ended (its keeper went).
 */
function adoptionCase(
  name: string, make: (dataDir: string) => Promise<ContainerRuntime>, makePod: (rt: ContainerRuntime) => Promise<Pod>,
  reattachSandbox?: (rt: ContainerRuntime, podUid: string) => Promise<void>,
): void {
  describe(`attach after a restart: ${name}`, () => {
    let tmp: { dir: string; remove: () => void };
    beforeEach(() => { tmp = makeTempDir('podvisor-attach-adopt-'); });
    afterEach(() => tmp.remove());

    it('re-adopted containers keep their stdin and terminal', async () => {
      const dataDir = join(tmp.dir, 'data');
      const first = await make(dataDir);
      const pod = await makePod(first);
      const cat = await pod.start('cat', 'exec cat', STDIN);
      const sh = await pod.start('sh', '', TTY, ['sh', '-i']);
      const once = await pod.start('once', 'wc -c; exec sleep 1000', STDIN_ONCE);
      // Records of containers with stdio have format 2: builds that do not know it never adopt them.
      const record = JSON.parse(readFileSync(join(pod.sb.dir, 'containers', cat.id.replace(/^\w+:\/\//, ''), 'instance.json'), 'utf8')) as { format: number };
      expect(record.format).toBe(2);
      await first.close({ keepSandboxes: true, keepContainers: true });
      const second = await make(dataDir);
      try {
        await reattachSandbox?.(second, pod.sb.podUid);
        for (const h of [cat, sh, once]) expect((await second.adoptContainer(pod.sb.podUid, h.id)).state).toBe('running');
        const a = await second.attach(cat.id, { stdin: true });
        const out = collect(a.stdout);
        a.stdin?.write('again\n');
        await see(out, 'again\n');
        a.detach();
        const t = await second.attach(sh.id, { stdin: true });
        const tout = collect(t.stdout);
        t.resize({ width: 90, height: 30 });
        await waitFor(() => {
          if (tout.text().includes('30 90\r\n')) return true;
          t.stdin?.write('stty size\n');
          return false;
        }, 15_000, 'the new size').catch((err: unknown) => {
          throw new Error(`${String(err)}; got ${JSON.stringify(tout.text())}`);
        });
        second.signal(sh.id, 'SIGKILL');
        await tout.ended;
        const log = second.logPath(pod.sb.podUid, 'once', false);
        await waitFor(() => log !== undefined && logContent(log).trim() === '0', 15_000, 'the stdinOnce container to have read EOF');
      } finally {
        await second.releaseSandbox(pod.sb, { deleteData: true }).catch(() => {});
        await second.close();
      }
    });
  });
}

// ---- the runtimes ---------------------------------------------------------------------------

attachContract('host (direct monitor)', async (dir) => hostCommandPod(await HostRuntime.create({ dataDir: join(dir, 'data'), monitorChoice: 'direct' })));
describe.runIf(withConmon)('conmon', () => {
  attachContract('host (conmon monitor)', async (dir) => hostCommandPod(await HostRuntime.create({ dataDir: join(dir, 'data'), monitorChoice: 'conmon' })));
  adoptionCase('host (conmon monitor)', (dataDir) => HostRuntime.create({ dataDir, monitorChoice: 'conmon' }), hostCommandPod);
});

describe.skipIf(sandboxProblem !== undefined && !CI)('sandbox runtime', () => {
  it('is available on this machine', () => {
    expect(sandboxProblem).toBeUndefined();
  });
  attachContract('sandbox (direct monitor)', async (dir) => hostCommandPod(await SandboxRuntime.create({ dataDir: join(dir, 'data'), ...net, monitorChoice: 'direct' })));
  describe.runIf(withConmon)('conmon', () => {
    attachContract('sandbox (conmon monitor)', async (dir) => hostCommandPod(await SandboxRuntime.create({ dataDir: join(dir, 'data'), ...net, monitorChoice: 'conmon' })));
    adoptionCase('sandbox (conmon monitor)', (dataDir) => SandboxRuntime.create({ dataDir, ...net, monitorChoice: 'conmon' }), hostCommandPod, reattachSandboxes);
  });
});

describe.skipIf(ociProblem !== undefined && !CI)('oci runtime', () => {
  const fixture = useOciImage('podvisor-attach-images-', () => ociProblem);

  it('is available on this machine', () => {
    expect(ociProblem).toBeUndefined();
  });
  const oci = (dataDir: string, monitorChoice: 'conmon' | 'direct'): Promise<ContainerRuntime> =>
    createOciRuntime({ dataDir, imageDir: fixture.imageDir, buildSpec: ociSpec, ...net, monitorChoice });
  attachContract('oci (direct monitor)', async (dir) => imagePod(await oci(join(dir, 'data'), 'direct'), fixture.image));
  describe.runIf(withConmon)('conmon', () => {
    attachContract('oci (conmon monitor)', async (dir) => imagePod(await oci(join(dir, 'data'), 'conmon'), fixture.image));
    adoptionCase('oci (conmon monitor)', (dataDir) => oci(dataDir, 'conmon'), (rt) => imagePod(rt, fixture.image), reattachSandboxes);
  });
});

afterAll(() => {
  if (sandboxProblem !== undefined) return;
  const ports = spawnSync('ip', ['-o', 'link', 'show', 'master', net.bridge], { encoding: 'utf8' });
  if (ports.status === 0 && ports.stdout.trim() === '') spawnSync('ip', ['link', 'del', net.bridge]);
});
