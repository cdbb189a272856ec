/**
 * End-to-end (issue 15): into the containers with the real kubectl 1.32 and 1.35 against the
 * built `podvisor serve`, on the host runtime, the sandbox runtime (root) and the oci runtime
 * (images from a local registry):
 * - `exec POD -- sh -c 'echo hi; exit 3'` prints `hi` and exits 3;
 * - `exec -i` with piped stdin;
 * - `exec -it` driven through a pseudo-terminal (util-linux `script` gives kubectl a terminal):
 *   an interactive shell's prompt, a command's output, and a resize of kubectl's terminal seen
 *   by `stty size` inside;
 * - `cp` a file in and back out, byte-identical;
 * - `port-forward` to an HTTP server in the pod answers 20 concurrent requests;
 * - `@kubernetes/client-node`'s `Exec` and `PortForward` against the daemon;
 * - closing the client kills the exec'd processes (none left in /proc), and no exec changes the
 *   container's restartCount or the pod's phase.
 * A missing kubectl, root or oci fixture skips its part, except under CI=true, where it fails.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { alive, cli, ensureBuilt, freePort, tempDir, until } from './helpers.js';
import { forOci, ociRegistry, stopOciRegistry } from './oci-images.js';
import { processesOf, ServeNode } from './serve-node.js';
import { KUBECTLS, plain, RUNTIMES, type Run } from './streams-env.js';

const tmp = tempDir('podvisor-exec-');

afterAll(async () => {
  await stopOciRegistry();
  tmp.cleanup();
});


for (const { runtime, skip } of RUNTIMES) {
  describe.skipIf(skip !== undefined)(`streams into the containers on the ${runtime} runtime`, () => {
    let n: ServeNode;
    let kubeconfig = '';
    let webPort = 0;
    const marker = `pv-exec-${runtime}-${process.pid}`;

    const kubectl = (k: string, args: string[], input?: string | Buffer, timeoutMs = 30_000): Promise<Run> =>
      new Promise((resolve) => {
        const child = spawn(k, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kc-${runtime}-${k.length}`), ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
        const out: Buffer[] = [];
        const err: Buffer[] = [];
        child.stdout.on('data', (d: Buffer) => out.push(d));
        child.stderr.on('data', (d: Buffer) => err.push(d));
        const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
        child.on('close', (code) => {
          clearTimeout(timer);
          resolve({ code: code ?? -1, stdout: Buffer.concat(out).toString('latin1'), stderr: Buffer.concat(err).toString() });
        });
        child.stdin.end(input);
      });

    beforeAll(async () => {
      ensureBuilt();
      n = new ServeNode(runtime, await freePort(), tmp.dir, 'streams');
      if (runtime === 'oci') n.transform = async (yaml) => forOci(yaml, { busybox: (await ociRegistry()).busybox, hostDirs: [], init: true });
      await n.start();
      const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${n.port}`, '--data-dir', n.dataDir]);
      expect(k.code).toBe(0);
      kubeconfig = join(tmp.dir, `kubeconfig-${runtime}`);
      writeFileSync(kubeconfig, k.stdout);
      // On the host runtime pods share the host's network: the web server needs a free port.
      webPort = runtime === 'host' ? await freePort() : 8080;
      await n.apply(`
apiVersion: v1
kind: Pod
metadata: {name: shell}
spec:
  terminationGracePeriodSeconds: 1
  containers:
  - name: main
    image: busybox:1.36
    command: ["sh", "-c", "trap 'exit 0' TERM; while true; do sleep 1; done", "${marker}-main"]
  - name: web
    image: busybox:1.36
    command: ["busybox", "httpd", "-f", "-p", "${webPort}", "-h", "/"]
`);
      await until('shell running', async () => {
        const p = await n.pod('shell');
        return p.status?.containerStatuses?.every((c: any) => c.state?.running) ? p : undefined;
      }, 60_000);
    }, 120_000);

    afterAll(async () => {
      await n?.cleanup();
    }, 60_000);

    const counts = async (): Promise<{ phase: string; restarts: number[] }> => {
      const p = await n.pod('shell');
      return { phase: p.status.phase, restarts: p.status.containerStatuses.map((c: any) => c.restartCount) };
    };

    it('@kubernetes/client-node: Exec reports the exit code, PortForward reaches the pod\'s server', async () => {
      const kc = new k8s.KubeConfig();
      kc.loadFromFile(kubeconfig);
      const out: Buffer[] = [];
      const sink = new Writable({ write: (c: Buffer, _e, cb) => { out.push(c); cb(); } });
      const status = await new Promise<k8s.V1Status>((resolve, reject) => {
        new k8s.Exec(kc).exec('default', 'shell', 'main', ['sh', '-c', 'echo lib; exit 3'], sink, null, null, false, (st) => resolve(st)).catch(reject);
      });
      expect(Buffer.concat(out).toString()).toBe('lib\n');
      expect(status).toMatchObject({ status: 'Failure', reason: 'NonZeroExitCode', details: { causes: [{ reason: 'ExitCode', message: '3' }] } });
      const pf = new k8s.PortForward(kc);
      const local = createServer((sock) => {
        // client-node writes what the pod sends after the local client (curl) may have closed: an EPIPE to ignore.
        sock.on('error', () => {});
        void pf.portForward('default', 'shell', [webPort], sock, null, sock);
      });
      await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
      try {
        const port = (local.address() as AddressInfo).port;
        const code = await new Promise<string>((resolve) => {
          const c = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${port}/proc/version`]);
          let o = '';
          c.stdout.on('data', (d: Buffer) => (o += d.toString()));
          c.on('close', () => resolve(o));
        });
        expect(code).toBe('200');
      } finally {
        local.close();
      }
    });

    for (const { version, path: k } of KUBECTLS) {
      describe.skipIf(!existsSync(k))(`kubectl ${version}`, () => {
        it('exec prints the output and exits with the command\'s code', async () => {
          const r = await kubectl(k, ['exec', 'shell', '-c', 'main', '--', 'sh', '-c', 'echo hi; exit 3']);
          expect(r.stdout).toBe('hi\n');
          expect(r.stderr).toContain('command terminated with exit code 3');
          expect(r.code).toBe(3);
        });

        it('exec -i reads piped stdin to its end', async () => {
          const data = 'one\ntwo\nthree\n'.repeat(10_000);
          const piped = await kubectl(k, ['exec', '-i', 'shell', '-c', 'main', '--', 'sh', '-c', 'wc -lc'], data);
          expect(piped.code, piped.stderr).toBe(0);
          expect(piped.stdout.trim().split(/\s+/).map(Number)).toEqual([30_000, data.length]);
        });

        it('exec -it: an interactive shell on a terminal, its prompt, and a resize', async () => {
          // util-linux `script` runs kubectl on a pseudo-terminal of its own.
          const cmd = [k, '--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kc-${runtime}-${k.length}`), 'exec', '-it', 'shell', '-c', 'main', '--', 'sh'].map((a) => `'${a}'`).join(' ');
          const child = spawn('script', ['-q', '-e', '-f', '-c', `stty rows 30 cols 90; exec ${cmd}`, '/dev/null'], { stdio: ['pipe', 'pipe', 'pipe'] });
          let out = '';
          child.stdout.on('data', (d: Buffer) => (out += d.toString('latin1')));
          child.stderr.on('data', (d: Buffer) => (out += d.toString('latin1')));
          const closed = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
          try {
            await until('the shell\'s prompt', () => /[#$] $/m.test(plain(out)), 20_000);
            child.stdin.write('echo $((6*7))x; stty size\n');
            await until('the command\'s output and the first size', () => out.includes('42x') && /30 90/.test(out), 20_000);
            // Resize kubectl's terminal: the kernel signals kubectl (SIGWINCH), which sends the new size.
            const kpid = await until('kubectl on the terminal', () => {
              const ps = spawnSync('pgrep', ['-f', '-n', `exec -it shell -c main`], { encoding: 'utf8' }).stdout.trim().split('\n').map(Number).filter((p) => p > 0 && p !== child.pid);
              return ps.find((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').startsWith(k));
            });
            spawnSync('stty', ['-F', `/proc/${kpid}/fd/0`, 'rows', '41', 'cols', '123']);
            await until('the resize inside', async () => {
              child.stdin.write('stty size\n');
              await new Promise((r) => setTimeout(r, 100));
              return /41 123/.test(out);
            }, 20_000);
            child.stdin.write('exit 4\n');
            expect(await closed).toBe(4);
          } finally {
            child.kill('SIGKILL');
          }
        });

        it('cp copies a file in and back out, byte-identical', async () => {
          const src = join(tmp.dir, `in-${runtime}-${version}.bin`);
          const bytes = Buffer.alloc(300_000);
          for (let i = 0; i < bytes.length; i++) bytes[i] = (i * 31 + 7) % 256;
          writeFileSync(src, bytes);
          const dest = runtime !== 'oci' ? join(tmp.dir, `copied-${version}.bin`) : `/tmp/copied-${version}.bin`;
          const put = await kubectl(k, ['cp', src, `shell:${dest}`, '-c', 'main']);
          expect(put.code, put.stderr).toBe(0);
          const back = join(tmp.dir, `back-${runtime}-${version}.bin`);
          const get = await kubectl(k, ['cp', `shell:${dest}`, back, '-c', 'main']);
          expect(get.code, get.stderr).toBe(0);
          expect(readFileSync(back).equals(bytes)).toBe(true);
        });

        it('port-forward answers 20 concurrent HTTP requests', async () => {
          const local = await freePort();
          const pf = spawn(k, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kc-${runtime}-${k.length}`), 'port-forward', 'pod/shell', `${local}:${webPort}`], { stdio: ['ignore', 'pipe', 'pipe'] });
          let said = '';
          pf.stdout.on('data', (d: Buffer) => (said += d.toString()));
          pf.stderr.on('data', (d: Buffer) => (said += d.toString()));
          try {
            await until('port-forward listening', () => said.includes('Forwarding from'), 20_000);
            const answers = await Promise.all(Array.from({ length: 20 }, () => new Promise<Run>((resolve) => {
              const c = spawn('curl', ['-s', '-o', '/dev/null', '-w', '%{http_code}', `http://127.0.0.1:${local}/proc/version`]);
              let o = '';
              c.stdout.on('data', (d: Buffer) => (o += d.toString()));
              c.on('close', (code) => resolve({ code: code ?? -1, stdout: o, stderr: '' }));
            })));
            expect(answers.map((a) => a.stdout)).toEqual(Array(20).fill('200'));
          } finally {
            pf.kill('SIGTERM');
          }
        });

        it('closing the client kills what the exec started; no exec touches restartCount or phase', async () => {
          const before = await counts();
          const tag = `${marker}-x${version}`;
          const child = spawn(k, ['--kubeconfig', kubeconfig, '--cache-dir', join(tmp.dir, `kc-${runtime}-${k.length}`), 'exec', 'shell', '-c', 'main', '--', 'sh', '-c', 'sleep 1000 & sleep 1001; wait', tag], { stdio: 'ignore' });
          const pids = await until('the exec\'s processes', () => {
            const p = processesOf(tag);
            return p.length >= 1 ? p : undefined;
          }, 20_000);
          child.kill('SIGKILL');
          await until('no process of the exec left', () => pids.every((p) => !alive(p)) && processesOf(tag).length === 0, 20_000);
          expect(await counts()).toEqual(before);
          expect(before.phase).toBe('Running');
        });
      });
    }
  });
}
