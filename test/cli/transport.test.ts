/**
 * Client failures are one line naming the fix (cli/transport.ts): real sockets on 127.0.0.1
 * for a port nobody listens on, a TLS server whose certificate the data dir's CA did not sign,
 * a server that never answers, a refused token, a connection cut halfway; and the CLI prints
 * them as `error: ...` with exit code 1, never a stack trace.
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { ensureTls } from '../../src/cli/credentials.js';
import { endpointPath, resolveEndpoint, type Endpoint, type EndpointRecord } from '../../src/cli/endpoint.js';
import { main } from '../../src/cli/main.js';
import { ClientError, describeFailure, request, stream } from '../../src/cli/transport.js';

const FIXTURES = join(import.meta.dirname, '..', 'server', 'fixtures');
const root = mkdtempSync(join(tmpdir(), 'podvisor-transport-'));
/** A data dir as `serve` leaves it: a token and a TLS key and certificate (its CA). */
const dataDir = join(root, 'data');
let tls: { key: Buffer; cert: Buffer };
const servers: net.Server[] = [];
const sockets = new Set<net.Socket>();

beforeAll(() => {
  mkdirSync(dataDir, { mode: 0o700 });
  writeFileSync(join(dataDir, 'token'), 'the-token\n');
  tls = ensureTls(dataDir);
  writeFileSync(join(root, 'web.yaml'), 'apiVersion: v1\nkind: Pod\nmetadata: {name: web}\nspec:\n  containers: [{name: c, image: busybox}]\n');
});

afterEach(async () => {
  vi.restoreAllMocks();
  for (const c of sockets) c.destroy();
  sockets.clear();
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((r) => s.close(() => r()))));
});

afterAll(() => rmSync(root, { recursive: true, force: true }));

async function listen<S extends net.Server>(s: S): Promise<number> {
  servers.push(s);
  s.on('connection', (c: net.Socket) => {
    sockets.add(c);
    c.on('close', () => sockets.delete(c));
  });
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  return (s.address() as net.AddressInfo).port;
}

/** A port on 127.0.0.1 nobody listens on (it was free a moment ago). */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function endpoint(flags: { server?: string; socket?: string; token?: string; dataDir?: string }, timeoutMs?: number): Endpoint {
  const ep = resolveEndpoint({ dataDir, ...flags }, { env: {} });
  if ('missingToken' in ep) throw new Error('no token');
  return timeoutMs === undefined ? ep : { ...ep, timeoutMs };
}

/** The message a request to `ep` fails with (it must fail with a ClientError). */
async function failure(ep: Endpoint, path = '/api/v1/namespaces/default/pods'): Promise<string> {
  try {
    await request(ep, 'GET', path);
  } catch (e) {
    expect(e).toBeInstanceOf(ClientError);
    return (e as Error).message;
  }
  throw new Error('the request succeeded');
}

const okHandler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
  if (req.headers.authorization !== 'Bearer the-token') {
    res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"kind":"Status","reason":"Unauthorized","code":401}');
    return;
  }
  res.writeHead(200, { 'Content-Type': 'application/json' }).end('{"kind":"PodList","metadata":{"resourceVersion":"1"},"items":[]}');
};

describe('one line naming the fix', () => {
  it('a request to the daemon with the data dir\'s CA and token succeeds', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, okHandler));
    const r = await request(endpoint({ server: `https://127.0.0.1:${port}` }), 'GET', '/api/v1/namespaces/default/pods');
    expect(r.status).toBe(200);
  });

  it('connection refused: the URL and the serve command to run', async () => {
    const port = await closedPort();
    expect(await failure(endpoint({ server: `https://127.0.0.1:${port}` })))
      .toBe(`cannot reach podvisor serve at https://127.0.0.1:${port}: connection refused; is \`podvisor serve --data-dir ${dataDir}\` running?`);
  });

  it('connection refused at a recorded daemon that stopped cleanly: not running, since when, how to start it', async () => {
    const port = await closedPort();
    const rec: EndpointRecord = { listeners: [`https://127.0.0.1:${port}`], pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z', stoppedAt: '2026-01-01T00:05:00.000Z' };
    writeFileSync(endpointPath(dataDir), JSON.stringify(rec));
    try {
      expect(await failure(endpoint({})))
        .toBe(`podvisor serve --data-dir ${dataDir} is not running (it stopped at 2026-01-01T00:05:00.000Z; it listened on https://127.0.0.1:${port}): start it with \`podvisor serve --data-dir ${dataDir}\``);
      writeFileSync(endpointPath(dataDir), JSON.stringify({ ...rec, stoppedAt: undefined, pid: 2 ** 22 + 17 }));
      expect(await failure(endpoint({})))
        .toBe(`podvisor serve --data-dir ${dataDir} is not running (pid ${2 ** 22 + 17} recorded in ${endpointPath(dataDir)} has exited without a clean stop; it listened on https://127.0.0.1:${port}): start it with \`podvisor serve --data-dir ${dataDir}\``);
    } finally {
      rmSync(endpointPath(dataDir));
    }
  });

  it('a certificate the data dir\'s CA did not sign: names the CA file and the data dir', async () => {
    const port = await listen(https.createServer({ key: readFileSync(join(FIXTURES, 'localhost-key.pem')), cert: readFileSync(join(FIXTURES, 'localhost-cert.pem')) }, okHandler));
    expect(await failure(endpoint({ server: `https://127.0.0.1:${port}` })))
      .toBe(`the certificate of podvisor serve at https://127.0.0.1:${port} is not signed by ${join(dataDir, 'tls', 'cert.pem')}, the CA of data dir ${dataDir} (self-signed certificate); pass the --data-dir of the podvisor serve listening there`);
  });

  it('a data dir without a CA: names the missing file', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, okHandler));
    const other = join(root, 'no-ca');
    mkdirSync(other, { recursive: true });
    const msg = await failure(endpoint({ server: `https://127.0.0.1:${port}`, dataDir: other, token: 'the-token' }));
    expect(msg).toBe(`cannot verify the certificate of podvisor serve at https://127.0.0.1:${port} (self-signed certificate): there is no CA ${join(other, 'tls', 'cert.pem')} (no podvisor serve has run with --data-dir ${other}); pass the --data-dir of the daemon listening there`);
  });

  it('a refused token (401): names the token file, or the flag it came from', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, okHandler));
    const other = join(root, 'other-token');
    mkdirSync(join(other, 'tls'), { recursive: true });
    writeFileSync(join(other, 'token'), 'wrong\n');
    writeFileSync(join(other, 'tls', 'cert.pem'), tls.cert);
    expect(await failure(endpoint({ server: `https://127.0.0.1:${port}`, dataDir: other })))
      .toBe(`podvisor serve at https://127.0.0.1:${port} refused the token in ${join(other, 'token')} (401 Unauthorized): it is not the token of that daemon; pass the --data-dir it was started with`);
    expect(await failure(endpoint({ server: `https://127.0.0.1:${port}`, token: 'wrong' })))
      .toBe(`podvisor serve at https://127.0.0.1:${port} refused the token of --token (401 Unauthorized); use the token file of its data dir (<data-dir>/token), or --data-dir alone`);
    // A stream (watch, logs) too.
    await expect(stream(endpoint({ server: `https://127.0.0.1:${port}`, token: 'wrong' }), '/x', () => {})).rejects.toThrow(/refused the token of --token \(401 Unauthorized\)/);
  });

  it('no answer in time: a server that accepts and never speaks', async () => {
    const port = await listen(net.createServer(() => {}));
    expect(await failure(endpoint({ server: `https://127.0.0.1:${port}` }, 300)))
      .toBe(`cannot reach podvisor serve at https://127.0.0.1:${port}: no answer within 0.3s; is \`podvisor serve --data-dir ${dataDir}\` running?`);
  });

  it('https to a server without TLS, http to the daemon', async () => {
    const plain = await listen(http.createServer(okHandler));
    expect(await failure(endpoint({ server: `https://127.0.0.1:${plain}` })))
      .toMatch(new RegExp(`^podvisor serve at https://127\\.0\\.0\\.1:${plain} does not speak TLS \\(wrong version number\\): podvisor serve speaks HTTPS on TCP; check --server$`));
    const secure = await listen(https.createServer({ key: tls.key, cert: tls.cert }, okHandler));
    expect(await failure(endpoint({ server: `http://127.0.0.1:${secure}` })))
      .toMatch(new RegExp(`^podvisor serve at http://127\\.0\\.0\\.1:${secure} closed the connection \\(.+\\): podvisor serve speaks HTTPS on TCP; use https://127\\.0\\.0\\.1:${secure}$`));
  });

  it('a unix socket nobody serves', async () => {
    const sock = join(root, 'nobody.sock');
    expect(await failure(endpoint({ socket: sock })))
      .toBe(`cannot reach podvisor serve at unix://${sock}: no such socket; is \`podvisor serve --data-dir ${dataDir}\` running?`);
  });

  it('a connection lost halfway through a watch (the daemon stopped)', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'application/json' });
      res.write('{"type":"ADDED"}\n', () => res.socket?.destroy());
    }));
    const chunks: string[] = [];
    await expect(stream(endpoint({ server: `https://127.0.0.1:${port}` }), '/w', (c) => void chunks.push(c)))
      .rejects.toThrow(new RegExp(`^lost the connection to podvisor serve at https://127\\.0\\.0\\.1:${port} \\(.+\\); did it stop\\? is \`podvisor serve --data-dir .+\` running\\?$`));
    expect(chunks.join('')).toBe('{"type":"ADDED"}\n');
  });

  it('a reader that throws (an unparsable watch line) rejects the stream, it does not crash the process', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
      res.writeHead(200);
      res.write('not json\n');
    }));
    await expect(stream(endpoint({ server: `https://127.0.0.1:${port}` }), '/w', (c) => void JSON.parse(c))).rejects.toThrow(SyntaxError);
  });

  it('a stream its reader ends is no failure', async () => {
    const port = await listen(https.createServer({ key: tls.key, cert: tls.cert }, (_req, res) => {
      res.writeHead(200);
      res.write('one\n');
    }));
    expect(await stream(endpoint({ server: `https://127.0.0.1:${port}` }), '/w', () => true)).toBe(200);
  });
});

describe('describeFailure, for failures hard to make on loopback', () => {
  const ep = (): Endpoint => endpoint({ server: 'https://192.0.2.7:7443' });
  const error = (code: string, message: string): Error => Object.assign(new Error(message), { code });
  it.each([
    ['ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames",
      `the certificate of podvisor serve at https://192.0.2.7:7443 is not valid for 192.0.2.7 (Hostname/IP does not match certificate's altnames): the certificate of data dir ${dataDir} (${join(dataDir, 'tls', 'cert.pem')}) names 127.0.0.1, ::1, localhost; connect to one of those`],
    ['CERT_HAS_EXPIRED', 'certificate has expired',
      `the certificate of podvisor serve at https://192.0.2.7:7443 has expired (certificate has expired); to have podvisor serve create a new one, stop it, remove ${join(dataDir, 'tls')} and start \`podvisor serve --data-dir ${dataDir}\` again`],
    ['ENOTFOUND', 'getaddrinfo ENOTFOUND', 'cannot reach podvisor serve at https://192.0.2.7:7443: unknown host 192.0.2.7; check --server'],
    ['EHOSTUNREACH', 'connect EHOSTUNREACH', 'cannot reach podvisor serve at https://192.0.2.7:7443: no route to host (EHOSTUNREACH); check --server'],
    ['EACCES', 'connect EACCES', 'cannot reach podvisor serve at https://192.0.2.7:7443: permission denied (the socket is mode 0600: run as the user of podvisor serve)'],
    ['EWHATEVER', 'something odd', `cannot reach podvisor serve at https://192.0.2.7:7443: something odd; is \`podvisor serve --data-dir ${dataDir}\` running?`],
  ])('%s', (code, message, want) => {
    expect(describeFailure(error(code, message), ep())).toBe(want);
  });

  it('quotes a data dir a shell would split', () => {
    const e = { ...ep(), dataDir: '/tmp/my data' };
    expect(describeFailure(error('ECONNREFUSED', 'x'), e)).toBe("cannot reach podvisor serve at https://192.0.2.7:7443: connection refused; is `podvisor serve --data-dir '/tmp/my data'` running?");
  });
});

describe('the CLI prints one line, exit code 1, never a stack trace', () => {
  function capture(): { stdout: () => string; stderr: () => string } {
    let out = '';
    let err = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((out += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((err += String(s)), true));
    return { stdout: () => out, stderr: () => err };
  }

  it.each([
    ['get pods', ['get', 'pods']],
    ['describe pod', ['describe', 'pod', 'web']],
    ['logs', ['logs', 'web', '-f']],
    ['apply', ['apply', '-f', join(root, 'web.yaml')]],
    ['delete pod', ['delete', 'pod', 'web']],
    ['restart pod', ['restart', 'pod', 'web']],
    ['history pod', ['history', 'pod', 'web']],
  ])('%s against a port nobody listens on', async (_what, args) => {
    const port = await closedPort();
    const io = capture();
    const code = await main([...args, '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir]);
    vi.restoreAllMocks();
    expect(code).toBe(1);
    expect(io.stdout()).toBe('');
    expect(io.stderr()).toBe(`error: cannot reach podvisor serve at https://127.0.0.1:${port}: connection refused; is \`podvisor serve --data-dir ${dataDir}\` running?\n`);
  });

  it('get pods against a certificate of another CA; an invalid --server; a missing manifest', async () => {
    const port = await listen(https.createServer({ key: readFileSync(join(FIXTURES, 'localhost-key.pem')), cert: readFileSync(join(FIXTURES, 'localhost-cert.pem')) }, okHandler));
    let io = capture();
    expect(await main(['get', 'pods', '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir])).toBe(1);
    vi.restoreAllMocks();
    expect(io.stderr()).toMatch(/^error: the certificate of podvisor serve at .* is not signed by .*cert\.pem, the CA of data dir .*\n$/);
    io = capture();
    expect(await main(['get', 'pods', '--server', 'https://', '--data-dir', dataDir])).toBe(1);
    vi.restoreAllMocks();
    expect(io.stderr()).toBe('error: invalid endpoint "https://" from --server: want https://HOST:PORT, http://HOST:PORT or unix:///PATH\n');
    io = capture();
    expect(await main(['apply', '-f', join(root, 'missing.yaml'), '--server', `https://127.0.0.1:${port}`, '--data-dir', dataDir])).toBe(1);
    vi.restoreAllMocks();
    expect(io.stderr()).toBe(`error: ENOENT: no such file or directory, open '${join(root, 'missing.yaml')}'\n`);
  });
});
