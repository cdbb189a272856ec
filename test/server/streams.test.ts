/**
 * The streaming subresources against real clients: `kubectl exec` (1.32 and 1.35, WebSocket
 * `v5.channel.k8s.io`) and `@kubernetes/client-node`'s `Exec`, with the API server in process
 * and a fake agent whose exec is a real child process (the runtimes' own exec is tested against
 * real containers in test/runtime and test/e2e). Exit codes, piped stdin, stderr, refusals
 * before the upgrade (NotFound, a container that does not run, no token).
 * A missing kubectl skips its cases, except under CI=true, where it fails.
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { createServer, type Server } from 'node:http';
import { createServer as createNetServer, type AddressInfo } from 'node:net';
import { PassThrough, Writable, type Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ExecStream, ExecStreamOptions } from '../../src/agent/node-api.js';
import { podManifest, startApi, writeKubeconfig, type TestApi } from './helpers.js';

const ROOT = resolve(fileURLToPath(new URL('.', import.meta.url)), '../..');
const TOKEN = 'streams-test-token';
const KUBECTLS = [
  { version: '1.32', path: process.env['KUBECTL'] ?? '/usr/bin/kubectl' },
  { version: '1.35', path: join(ROOT, '.cache/kubectl-1.35/kubectl') },
];
for (const k of KUBECTLS) {
  if (!existsSync(k.path) && process.env['CI'] === 'true') throw new Error(`kubectl ${k.version} not found at ${k.path}: CI must run the kubectl tests`);
}

/** The fake agent's exec: the command as a real child process in its own process group. */
function childExec(command: string[], opts: ExecStreamOptions): ExecStream {
  const child = spawn(command[0] ?? 'false', command.slice(1), { stdio: [opts.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'], detached: true });
  const exited = new Promise<{ exitCode: number }>((resolveExit) => {
    child.on('error', () => resolveExit({ exitCode: 127 }));
    child.on('close', (code, signal) => resolveExit({ exitCode: code ?? (signal === 'SIGKILL' ? 137 : 143) }));
  });
  return {
    ...(child.stdin ? { stdin: child.stdin } : {}),
    stdout: child.stdout as Readable,
    stderr: child.stderr as Readable,
    resize: () => {},
    kill: () => {
      try {
        if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      } catch {
        // gone
      }
    },
    exited,
  };
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

let api: TestApi;
let kubeconfig: string;

beforeAll(async () => {
  api = await startApi({ token: TOKEN }, true);
  api.fake.exec = childExec;
  kubeconfig = writeKubeconfig(api, TOKEN);
  for (const name of ['box', 'duo']) {
    const status = await post('/api/v1/namespaces/default/pods', podManifest(name, name === 'duo' ? { containers: ['a', 'b'] } : {}));
    expect(status).toBe(201);
  }
});

afterAll(async () => {
  await api.close();
});

function kubectl(path: string, args: string[], input?: string | Buffer, env: Record<string, string> = {}): Promise<Run> {
  return new Promise((resolveRun) => {
    const child = execFile(path, ['--kubeconfig', kubeconfig, '--cache-dir', join(api.dir, 'kube-cache'), ...args], { timeout: 30_000, maxBuffer: 64 * 1024 * 1024, encoding: 'buffer', env: { ...process.env, ...env } }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolveRun({ code, stdout: stdout.toString('latin1'), stderr: stderr.toString() });
    });
    if (input !== undefined) child.stdin?.end(input);
    else child.stdin?.end();
  });
}

for (const k of KUBECTLS) {
  describe.skipIf(!existsSync(k.path))(`kubectl ${k.version} exec`, () => {
    it('prints the output and exits with the command\'s code', async () => {
      const r = await kubectl(k.path, ['exec', 'box', '--', 'sh', '-c', 'echo hi; echo oops >&2; exit 3']);
      expect(r.stdout).toBe('hi\n');
      expect(r.stderr).toContain('oops');
      expect(r.stderr).toContain('command terminated with exit code 3');
      expect(r.code).toBe(3);
    });

    it('exit 0 is success; -c picks the container of a pod with two', async () => {
      const r = await kubectl(k.path, ['exec', 'duo', '-c', 'b', '--', 'sh', '-c', 'echo fine']);
      expect(r).toMatchObject({ code: 0, stdout: 'fine\n' });
      expect(api.fake.calls.some((c) => c[0] === 'execStream' && c[2] === 'duo' && c[3] === 'b')).toBe(true);
    });

    it('-i passes piped stdin through, byte for byte, and its end', async () => {
      const data = Buffer.alloc(3 * 1024 * 1024);
      for (let i = 0; i < data.length; i++) data[i] = (i * 7919) % 251;
      const r = await kubectl(k.path, ['exec', '-i', 'box', '--', 'sh', '-c', 'cat | od -An -tx1 | md5sum; echo done'], data);
      const expected = await new Promise<string>((res) => {
        const c = spawn('sh', ['-c', 'od -An -tx1 | md5sum']);
        let out = '';
        c.stdout.on('data', (d: Buffer) => (out += d.toString()));
        c.on('close', () => res(out));
        c.stdin.end(data);
      });
      expect(r.code).toBe(0);
      expect(r.stdout).toBe(`${expected}done\n`);
    });

    it('exec over SPDY/3.1 (kubectl\'s fallback): output, stdin, exit code', async () => {
      const spdy = { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' };
      const r = await kubectl(k.path, ['exec', '-i', 'box', '--', 'sh', '-c', 'tr a-z A-Z; echo err >&2; exit 7'], 'hello spdy\n', spdy);
      expect(r.stdout).toBe('HELLO SPDY\n');
      expect(r.stderr).toContain('err');
      expect(r.stderr).toContain('command terminated with exit code 7');
      expect(r.code).toBe(7);
    });

    for (const transport of ['websocket', 'spdy'] as const) {
      it(`port-forward (${transport === 'websocket' ? 'SPDY tunnelled in WebSocket' : 'plain SPDY/3.1'}) answers 20 concurrent requests`, async () => {
        const web = createServer((req, res) => res.end(`hi ${req.url ?? ''}`));
        await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
        api.fake.portMap.set(8080, (web.address() as AddressInfo).port);
        const local = await new Promise<number>((r) => {
          const s = createNetServer();
          s.listen(0, '127.0.0.1', () => {
            const p = (s.address() as AddressInfo).port;
            s.close(() => r(p));
          });
        });
        const env = transport === 'spdy' ? { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' } : {};
        const pf = spawn(k.path, ['--kubeconfig', kubeconfig, '--cache-dir', join(api.dir, 'kube-cache'), 'port-forward', 'pod/box', `${local}:8080`], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
        let said = '';
        pf.stdout.on('data', (d: Buffer) => (said += d.toString()));
        pf.stderr.on('data', (d: Buffer) => (said += d.toString()));
        try {
          const deadline = Date.now() + 15_000;
          while (!said.includes('Forwarding from') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
          expect(said).toContain('Forwarding from');
          const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => (await fetch(`http://127.0.0.1:${local}/r${i}`)).text()));
          expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `hi /r${i}`));
          const used = api.logs.filter((l) => l.msg === 'port-forward').at(-1)?.fields['transport'];
          expect(used).toBe(transport === 'websocket' ? 'spdy-websocket' : 'spdy');
        } finally {
          pf.kill('SIGTERM');
          web.close();
          web.closeAllConnections();
        }
      });
    }

    it('debug adds an ephemeral container through pods/ephemeralcontainers, with the host runtime\'s notice', async () => {
      const dbg = `dbg${k.version.replace('.', '')}`;
      const r = await kubectl(k.path, ['debug', 'box', '--image=busybox:1.36', `--container=${dbg}`, '--target=main', '--', 'sh', '-c', 'echo hi']);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stderr).toContain(`ephemeral container "${dbg}": the host runtime runs its command from the host's filesystem`);
      const got = await kubectl(k.path, ['get', 'pod', 'box', '-o', 'json']);
      const eph = (JSON.parse(got.stdout) as { spec: { ephemeralContainers?: { name: string; targetContainerName?: string; image: string }[] } }).spec.ephemeralContainers ?? [];
      expect(eph.find((c) => c.name === dbg)).toMatchObject({ targetContainerName: 'main', image: 'busybox:1.36' });
    });

    it('cp into a container without tar says what to do', async () => {
      api.fake.exec = (command, opts) => childExec(command[0] === 'tar' ? ['sh', '-c', 'echo "sh: tar: not found" >&2; exit 127'] : command, opts);
      try {
        const src = join(api.dir, 'cp-src.txt');
        writeFileSync(src, 'data\n');
        const r = await kubectl(k.path, ['cp', src, 'box:/tmp/x']);
        expect(r.code).not.toBe(0);
        expect(r.stderr).toContain('podvisor: kubectl cp runs tar in the container, and this container has none');
      } finally {
        api.fake.exec = childExec;
      }
    });

    it('refusals come before the upgrade, as API errors', async () => {
      const missing = await kubectl(k.path, ['exec', 'nope', '--', 'true']);
      expect(missing.code).not.toBe(0);
      expect(missing.stderr).toContain('pods "nope" not found');
      const bad = await kubectl(k.path, ['exec', 'duo', '-c', 'zzz', '--', 'true']);
      expect(bad.code).not.toBe(0);
      expect(bad.stderr).toContain('container zzz is not valid for pod duo');
    });
  });
}

/** The parts of a response body the ephemeral-container tests read. */
interface EphBody {
  message: string;
  details: { causes: { field: string }[] };
  spec: { ephemeralContainers?: Record<string, unknown>[] };
  metadata: { labels?: Record<string, string> };
}

describe('pods/ephemeralcontainers as the API server validates it', () => {
  const patchEph = async (body: unknown, type = 'application/strategic-merge-patch+json'): Promise<{ status: number; body: EphBody }> => {
    const https = await import('node:https');
    return new Promise((resolveRes, reject) => {
      const req = https.request(`${api.url}/api/v1/namespaces/default/pods/duo/ephemeralcontainers`, { method: 'PATCH', rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': type } });
      req.on('response', (res) => {
        let b = '';
        res.on('data', (d: Buffer) => (b += d.toString()));
        res.on('end', () => resolveRes({ status: res.statusCode ?? 0, body: JSON.parse(b) as EphBody }));
      });
      req.on('error', reject);
      req.end(JSON.stringify(body));
    });
  };

  it('refuses ports, probes, resources and lifecycle, a duplicate name and an unknown target, all at once', async () => {
    const r = await patchEph({ spec: { ephemeralContainers: [{
      name: 'a', image: 'busybox', ports: [{ containerPort: 80 }], readinessProbe: { exec: { command: ['true'] } },
      resources: { limits: { cpu: '1' } }, lifecycle: { preStop: { exec: { command: ['true'] } } }, targetContainerName: 'nope',
    }] } });
    expect(r.status).toBe(422);
    const fields = r.body.details.causes.map((c) => c.field);
    expect(fields).toEqual(expect.arrayContaining([
      'spec.ephemeralContainers[0].name', 'spec.ephemeralContainers[0].ports', 'spec.ephemeralContainers[0].readinessProbe',
      'spec.ephemeralContainers[0].resources', 'spec.ephemeralContainers[0].lifecycle', 'spec.ephemeralContainers[0].targetContainerName',
    ]));
  });

  it('adds one; it may then be neither changed nor removed; nothing else of the pod changes', async () => {
    const added = await patchEph({ metadata: { labels: { sneaky: 'yes' } }, spec: { ephemeralContainers: [{ name: 'dbg', image: 'busybox', command: ['sh'] }] } });
    expect(added.status).toBe(200);
    expect(added.body.spec.ephemeralContainers).toEqual([expect.objectContaining({ name: 'dbg', image: 'busybox', terminationMessagePolicy: 'File', imagePullPolicy: 'Always' })]);
    expect(added.body.metadata.labels?.sneaky).toBeUndefined();
    const changed = await patchEph({ spec: { ephemeralContainers: [{ name: 'dbg', image: 'alpine' }] } });
    expect(changed.status).toBe(422);
    expect(changed.body.message).toContain('existing ephemeral containers "dbg" may not be changed');
    const removed = await patchEph([{ op: 'replace', path: '/spec/ephemeralContainers', value: [] }], 'application/json-patch+json');
    expect(removed.status).toBe(422);
    expect(removed.body.message).toContain('existing ephemeral containers "dbg" may not be removed');
  });
});

describe('exec with @kubernetes/client-node', () => {
  it('Exec streams stdout and stderr and reports the exit code in the status', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const exec = new k8s.Exec(kc);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (to: Buffer[]): Writable => new Writable({ write: (c: Buffer, _e, cb) => { to.push(c); cb(); } });
    const stdin = new PassThrough();
    const status = await new Promise<k8s.V1Status>((res, rej) => {
      exec.exec('default', 'box', 'main', ['sh', '-c', 'read x; echo got:$x; echo e >&2; exit 5'], sink(out), sink(err), stdin, false, (s) => res(s)).catch(rej);
      stdin.end('line\n');
    });
    expect(Buffer.concat(out).toString()).toBe('got:line\n');
    expect(Buffer.concat(err).toString()).toBe('e\n');
    expect(status.status).toBe('Failure');
    expect(status.reason).toBe('NonZeroExitCode');
    expect(status.details?.causes?.[0]).toMatchObject({ reason: 'ExitCode', message: '5' });
    // The request log shows the upgrade (101) once the stream has ended.
    const deadline = Date.now() + 10_000;
    const logged = (): unknown => api.logs.find((l) => l.msg === 'http request' && l.fields['path'] === '/api/v1/namespaces/default/pods/box/exec' && l.fields['status'] === 101);
    while (!logged() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(logged()).toBeDefined();
  });

  it('an upgrade without the token is refused with 401', async () => {
    const status = await rawUpgradeStatus('/api/v1/namespaces/default/pods/box/exec?command=true&stdout=true');
    expect(status).toBe(401);
  });
});

describe('port-forward with @kubernetes/client-node (WebSocket channels)', () => {
  let web: Server;
  beforeAll(async () => {
    web = createServer((req, res) => res.end(`hello ${req.url ?? ''}`));
    await new Promise<void>((r) => web.listen(0, '127.0.0.1', r));
    api.fake.portMap.set(80, (web.address() as AddressInfo).port);
  });
  afterAll(() => new Promise<void>((r) => web.close(() => r())));

  it('PortForward carries 20 concurrent HTTP requests, one connection each', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const pf = new k8s.PortForward(kc);
    const local = createNetServer((sock) => {
      // client-node writes what the pod sends after the local client may have closed: an EPIPE to ignore.
      sock.on('error', () => {});
      void pf.portForward('default', 'box', [80], sock, null, sock);
    });
    await new Promise<void>((r) => local.listen(0, '127.0.0.1', r));
    const port = (local.address() as AddressInfo).port;
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, async (_, i) => {
        const r = await fetch(`http://127.0.0.1:${port}/n${i}`, { headers: { connection: 'close' } });
        return r.text();
      }));
      expect(answers).toEqual(Array.from({ length: 20 }, (_, i) => `hello /n${i}`));
    } finally {
      local.close();
    }
  });

  it('a port nothing listens on is reported on the error channel in the kubelet\'s words', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(kubeconfig);
    const pf = new k8s.PortForward(kc, false);
    api.fake.portMap.set(81, 1);
    const errOut: Buffer[] = [];
    const err = new Writable({ write: (c: Buffer, _e, cb) => { errOut.push(c); cb(); } });
    const out = new PassThrough();
    const input = new PassThrough();
    await pf.portForward('default', 'box', [81], out, err, input);
    const deadline = Date.now() + 10_000;
    while (Buffer.concat(errOut).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    expect(Buffer.concat(errOut).toString()).toMatch(/^error forwarding port 81 to pod box, uid [0-9a-f-]+: .*connection refused/);
    input.end();
  });
});

/** POSTs a JSON object with the token (the test certificate is self-signed); resolves with the status. */
async function post(path: string, body: unknown): Promise<number> {
  const https = await import('node:https');
  return new Promise((resolveStatus, reject) => {
    const req = https.request(`${api.url}${path}`, { method: 'POST', rejectUnauthorized: false, headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    req.on('response', (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}

/** The status line of a WebSocket upgrade request sent without a token. */
async function rawUpgradeStatus(path: string): Promise<number> {
  const https = await import('node:https');
  return new Promise((resolveStatus, reject) => {
    const req = https.request(`${api.url}${path}`, {
      rejectUnauthorized: false,
      headers: { Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' },
    });
    req.on('response', (res) => {
      res.resume();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      resolveStatus(res.statusCode ?? 0);
    });
    req.on('error', reject);
    req.end();
  });
}
