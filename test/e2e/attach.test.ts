/**
 * End-to-end (issue 15): a container's own stdio with the real kubectl 1.32 and 1.35 against the
 * built `podvisor serve`, on the host runtime, the sandbox runtime (root) and the oci runtime
 * (images from a local registry):
 * - `attach -it` to a container started with `stdin: true, tty: true` (kubectl on a
 *   pseudo-terminal from util-linux `script`): its shell answers; leaving the attach leaves the
 *   container running, with no restart;
 * - `attach -i` to a `cat` container with `stdin: true` echoes what is written;
 * - `run -it --rm` gives a shell on a terminal in a new pod, deleted when it exits;
 * - `run -i --rm --restart=Never` with piped stdin: the container reads it to its end (the
 *   stdin closes when the attach ends: `stdinOnce`), prints, and the pod is deleted;
 * - `debug -it --image … --target=main` adds an ephemeral container, its shell answers through
 *   the attach, and `ephemeralContainerStatuses` shows it.
 * A missing kubectl, root or oci fixture skips its part, except under CI=true, where it fails.
 */
import { spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, ensureBuilt, freePort, tempDir, until } from './helpers.js';
import { forOci, ociRegistry, stopOciRegistry } from './oci-images.js';
import { ServeNode } from './serve-node.js';
import { KUBECTLS, plain, RUNTIMES, type Run } from './streams-env.js';

const tmp = tempDir('podvisor-attach-');

afterAll(async () => {
  await stopOciRegistry();
  tmp.cleanup();
});

/** kubectl with a terminal of its own (util-linux `script`), input written by the test. */
class OnTerminal {
  out = '';
  readonly closed: Promise<number>;
  private readonly child;

  constructor(argv: string[]) {
    const cmd = argv.map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-q', '-e', '-c', `stty rows 30 cols 100; exec ${cmd}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.child.stderr.on('data', (d: Buffer) => (this.out += d.toString('latin1')));
    this.closed = new Promise((resolve) => this.child.on('close', (code) => resolve(code ?? -1)));
  }

  type(text: string): void {
    this.child.stdin.write(text);
  }

  /** Types `line` until `want` shows (the first keys may come before the attach is up). */
  async ask(line: string, want: RegExp, ms = 20_000): Promise<void> {
    await until(`${JSON.stringify(want.source)} on the terminal`, async () => {
      this.type(line);
      await new Promise((r) => setTimeout(r, 150));
      return want.test(plain(this.out));
    }, ms);
  }

  kill(): void {
    this.child.kill('SIGKILL');
  }
}


for (const { runtime, skip } of RUNTIMES) {
  describe.skipIf(skip !== undefined)(`attach, run -i and debug on the ${runtime} runtime`, () => {
    let n: ServeNode;
    let kubeconfig = '';
    let image = 'busybox:1.36';

    const base = (k: string): string[] => [k, '--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kc-${runtime}-${k.length}`)];

    const kubectl = (k: string, args: string[], input?: string, timeoutMs = 60_000): Promise<Run> =>
      new Promise((resolve) => {
        const [cmd, ...rest] = base(k);
        const child = spawn(cmd ?? k, [...rest, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout, stderr });
        });
        child.stdin.end(input);
      });

    beforeAll(async () => {
      ensureBuilt();
      n = new ServeNode(runtime, await freePort(), tmp.dir, 'attach');
      if (runtime === 'oci') {
        image = (await ociRegistry()).busybox;
        n.transform = async (yaml) => forOci(yaml, { busybox: image, hostDirs: [], init: true });
      }
      await n.start();
      const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${n.port}`, '--data-dir', n.dataDir]);
      expect(k.code).toBe(0);
      kubeconfig = join(tmp.dir, `kubeconfig-${runtime}`);
      writeFileSync(kubeconfig, k.stdout);
      await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: term}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - {name: main, image: busybox:1.36, command: ["sh"], stdin: true, tty: true}
  - {name: echo, image: busybox:1.36, command: ["cat"], stdin: true}
`);
      await until('term running', async () => {
        const p = await n.pod('term');
        return p.status?.containerStatuses?.every((c: any) => c.state?.running) ? p : undefined;
      }, 60_000);
    }, 120_000);

    afterAll(async () => {
      await n?.cleanup();
    }, 60_000);

    const restarts = async (): Promise<number[]> => (await n.pod('term')).status.containerStatuses.map((c: any) => c.restartCount);

    for (const { version, path: k } of KUBECTLS) {
      describe.skipIf(!existsSync(k))(`kubectl ${version}`, () => {
        it('attach -it reaches the container\'s terminal; leaving it leaves the container running', async () => {
          const t = new OnTerminal([...base(k), 'attach', '-it', 'term', '-c', 'main']);
          try {
            await t.ask('echo att-$((6*7))\r', /att-42/);
            await t.ask('stty size\r', /30 100/);
          } finally {
            t.kill();
          }
          await t.closed;
          expect(await restarts()).toEqual([0, 0]);
          expect((await n.pod('term')).status.containerStatuses[0].state.running).toBeDefined();
        });

        it('attach -i to a cat container echoes what is written', async () => {
          const child = spawn(base(k)[0] ?? k, [...base(k).slice(1), 'attach', '-i', 'term', '-c', 'echo'], { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString()));
          try {
            await until('the echo', async () => {
              child.stdin.write(`hello-${version}\n`);
              await new Promise((r) => setTimeout(r, 150));
              return out.includes(`hello-${version}`);
            }, 20_000);
          } finally {
            child.kill('SIGKILL');
          }
          expect(await restarts()).toEqual([0, 0]);
        });

        it('run -i --rm --restart=Never reads piped stdin to its end, prints, and deletes the pod', async () => {
          const name = `once-${runtime}-${version.replace('.', '')}`;
          const r = await kubectl(k, ['run', name, '-i', '--rm', '--restart=Never', `--image=${image}`, '--', 'sh', '-c', 'wc -l; echo done'], 'a\nb\nc\n');
          expect(r.code, r.stderr).toBe(0);
          expect(r.stdout).toMatch(/3\s+done/);
          expect(r.stdout + r.stderr).toContain(`pod "${name}" deleted`);
          await until('the pod gone', async () => (await n.pod(name)).code === 404, 30_000);
        });

        it('run -it --rm: a shell on a terminal in a new pod, deleted when it exits', async () => {
          const name = `tty-${runtime}-${version.replace('.', '')}`;
          const t = new OnTerminal([...base(k), 'run', name, '-it', '--rm', '--restart=Never', `--image=${image}`, '--', 'sh']);
          try {
            await t.ask('echo run-$((2+3))\r', /run-5/, 60_000);
            t.type('exit\r');
            expect(await t.closed).toBe(0);
          } finally {
            t.kill();
          }
          expect(plain(t.out)).toContain(`pod "${name}" deleted`);
          await until('the pod gone', async () => (await n.pod(name)).code === 404, 30_000);
        });

        it('debug -it adds an ephemeral container whose shell answers, shown in ephemeralContainerStatuses', async () => {
          const dbg = `dbg-${version.replace('.', '')}`;
          const t = new OnTerminal([...base(k), 'debug', '-it', 'term', `--image=${image}`, `--container=${dbg}`, '--target=main', '--', 'sh']);
          try {
            await t.ask('echo dbg-$((1+1))\r', /dbg-2/, 60_000);
            t.type('exit\r');
            expect(await t.closed).toBe(0);
          } finally {
            t.kill();
          }
          const st = await until('the ephemeral status', async () => {
            const s = ((await n.pod('term')).status.ephemeralContainerStatuses ?? []).find((c: any) => c.name === dbg);
            return s?.state?.terminated ? s : undefined;
          }, 30_000);
          expect(st.restartCount).toBe(0);
          expect(await restarts()).toEqual([0, 0]);
        });
      });
    }
  });
}
