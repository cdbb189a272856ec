/**
 * How a client finds `podvisor serve` (cli/endpoint.ts): the record `serve` writes into its
 * data dir, and the resolution order `--server`/`--socket`, `$PODVISOR_ENDPOINT`, the data
 * dir's `endpoint.json` (with what became of its daemon), the default.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import {
  ClientError, clientUrl, DEFAULT_ENDPOINT, endpointPath, markEndpointStopped, processAlive, readEndpointRecord, recordEndpoint, resolveEndpoint,
  resolveTarget, type Endpoint, type EndpointRecord,
} from '../../src/cli/endpoint.js';

const root = mkdtempSync(join(tmpdir(), 'podvisor-endpoint-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let dataDir = '';
let n = 0;
beforeEach(() => {
  dataDir = join(root, `data-${n++}`);
  mkdirSync(dataDir, { mode: 0o700 });
});

/** The pid of a process that has exited (and was reaped). */
function deadPid(): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(r.stdout);
}

function writeRecord(rec: Partial<EndpointRecord>): void {
  writeFileSync(endpointPath(dataDir), JSON.stringify({ listeners: ['https://127.0.0.1:45678'], pid: process.pid, startedAt: '2026-01-01T00:00:00.000Z', ...rec }));
}

const noEnv = {};

describe('the record serve writes', () => {
  it('lists every listener with its actual port and the socket as an absolute path, the CA, the pid and the start; mode 0600', () => {
    const now = new Date('2026-03-04T05:06:07.000Z');
    recordEndpoint(dataDir, ['https://127.0.0.1:40123', 'unix://rel/api.sock'], now);
    const rec = JSON.parse(readFileSync(join(dataDir, 'endpoint.json'), 'utf8')) as EndpointRecord;
    expect(rec.listeners).toEqual(['https://127.0.0.1:40123', `unix://${resolve('rel/api.sock')}`]);
    expect(rec.ca).toBe(resolve(dataDir, 'tls', 'cert.pem'));
    expect(rec.pid).toBe(process.pid);
    expect(rec.startedAt).toBe('2026-03-04T05:06:07.000Z');
    expect(rec.stoppedAt).toBeUndefined();
    if (process.platform === 'linux') expect(rec.pidStart).toMatch(/^\d+$/);
    expect(statSync(join(dataDir, 'endpoint.json')).mode & 0o777).toBe(0o600);
  });

  it('a socket-only daemon records no CA', () => {
    recordEndpoint(dataDir, ['unix:///run/podvisor.sock']);
    expect(readEndpointRecord(dataDir)?.ca).toBeUndefined();
  });

  it('a clean stop marks the record stopped; a record of another daemon is left alone', () => {
    recordEndpoint(dataDir, ['https://127.0.0.1:40123']);
    markEndpointStopped(dataDir, new Date('2026-03-04T05:06:08.000Z'));
    expect(readEndpointRecord(dataDir)?.stoppedAt).toBe('2026-03-04T05:06:08.000Z');

    writeRecord({ pid: deadPid() });
    const before = readFileSync(endpointPath(dataDir), 'utf8');
    markEndpointStopped(dataDir);
    expect(readFileSync(endpointPath(dataDir), 'utf8')).toBe(before);
  });

  it('marking a missing record stopped does nothing and does not throw', () => {
    markEndpointStopped(join(dataDir, 'missing'));
    expect(readEndpointRecord(join(dataDir, 'missing'))).toBeUndefined();
  });
});

describe('processAlive', () => {
  it('is true for this process, false for an exited one and for a reused pid (another start time)', () => {
    expect(processAlive(process.pid)).toBe(true);
    expect(processAlive(deadPid())).toBe(false);
    const rec = recordEndpoint(dataDir, ['https://127.0.0.1:1']);
    expect(processAlive(process.pid, rec.pidStart)).toBe(true);
    if (process.platform === 'linux') expect(processAlive(process.pid, '1')).toBe(false);
  });
});

describe('resolution order', () => {
  it('1. --socket, then --server, beat everything else', () => {
    writeRecord({});
    const env = { PODVISOR_ENDPOINT: 'https://127.0.0.1:2222' };
    expect(resolveTarget({ socket: '/run/pv.sock', server: 'https://127.0.0.1:1111' }, dataDir, { env })).toEqual({ url: 'unix:///run/pv.sock', source: '--socket' });
    expect(resolveTarget({ server: 'https://127.0.0.1:1111' }, dataDir, { env })).toEqual({ url: 'https://127.0.0.1:1111', source: '--server' });
    expect(resolveTarget({ server: '127.0.0.1:1111' }, dataDir, { env }).url).toBe('https://127.0.0.1:1111');
    expect(resolveTarget({ server: 'unix://rel.sock' }, dataDir, { env }).url).toBe(`unix://${resolve('rel.sock')}`);
  });

  it('2. $PODVISOR_ENDPOINT beats the data dir', () => {
    writeRecord({});
    expect(resolveTarget({}, dataDir, { env: { PODVISOR_ENDPOINT: 'http://[::1]:2222/' } })).toEqual({ url: 'http://[::1]:2222', source: '$PODVISOR_ENDPOINT' });
    expect(resolveTarget({}, dataDir, { env: { PODVISOR_ENDPOINT: 'unix:///run/pv.sock' } })).toEqual({ url: 'unix:///run/pv.sock', source: '$PODVISOR_ENDPOINT' });
    // Empty is unset.
    expect(resolveTarget({}, dataDir, { env: { PODVISOR_ENDPOINT: '' } }).source).toBe('endpoint.json');
  });

  it('3. the data dir\'s endpoint.json: its first TCP listener, a wildcard address as loopback, else its socket', () => {
    writeRecord({ listeners: ['unix:///run/pv.sock', 'https://127.0.0.1:45678'] });
    const t = resolveTarget({}, dataDir, { env: noEnv });
    expect(t.url).toBe('https://127.0.0.1:45678');
    expect(t.source).toBe('endpoint.json');
    expect(t.record?.file).toBe(resolve(dataDir, 'endpoint.json'));
    expect(t.record?.state).toBe('running');
    writeRecord({ listeners: ['https://0.0.0.0:45678'] });
    expect(resolveTarget({}, dataDir, { env: noEnv }).url).toBe('https://127.0.0.1:45678');
    writeRecord({ listeners: ['https://[::]:45678'] });
    expect(resolveTarget({}, dataDir, { env: noEnv }).url).toBe('https://[::1]:45678');
    writeRecord({ listeners: ['unix:///run/pv.sock'] });
    expect(resolveTarget({}, dataDir, { env: noEnv }).url).toBe('unix:///run/pv.sock');
  });

  it('3. ... and says what became of the recorded daemon: running, stopped, or exited (dead pid, reused pid)', () => {
    writeRecord({});
    expect(resolveTarget({}, dataDir, { env: noEnv }).record?.state).toBe('running');
    writeRecord({ stoppedAt: '2026-01-01T00:01:00.000Z' });
    expect(resolveTarget({}, dataDir, { env: noEnv }).record?.state).toBe('stopped');
    writeRecord({ pid: deadPid() });
    expect(resolveTarget({}, dataDir, { env: noEnv }).record?.state).toBe('exited');
    writeRecord({});
    expect(resolveTarget({}, dataDir, { env: noEnv, alive: () => false }).record?.state).toBe('exited');
  });

  it('4. the default when the data dir has no record (or does not exist)', () => {
    expect(resolveTarget({}, dataDir, { env: noEnv })).toEqual({ url: DEFAULT_ENDPOINT, source: 'default' });
    expect(DEFAULT_ENDPOINT).toBe('https://127.0.0.1:7443');
    expect(resolveTarget({}, join(dataDir, 'nowhere'), { env: noEnv }).source).toBe('default');
  });

  it('an invalid endpoint or record is one ClientError naming where it came from', () => {
    expect(() => resolveTarget({ server: 'https://' }, dataDir, { env: noEnv })).toThrow(new ClientError('invalid endpoint "https://" from --server: want https://HOST:PORT, http://HOST:PORT or unix:///PATH'));
    expect(() => resolveTarget({}, dataDir, { env: { PODVISOR_ENDPOINT: 'ftp://x' } })).toThrow(/^invalid endpoint "ftp:\/\/x" from \$PODVISOR_ENDPOINT/);
    writeFileSync(endpointPath(dataDir), '{"half":');
    expect(() => resolveTarget({}, dataDir, { env: noEnv })).toThrow(`${resolve(dataDir, 'endpoint.json')} is not an endpoint record; remove it (podvisor serve writes it again) or pass --server`);
  });

  it('clientUrl keeps sockets and concrete hosts', () => {
    expect(clientUrl('unix:///a b.sock')).toBe('unix:///a b.sock');
    expect(clientUrl('https://192.0.2.1:7443')).toBe('https://192.0.2.1:7443');
  });
});

describe('resolveEndpoint', () => {
  it('with --data-dir alone: the recorded endpoint, the data dir\'s CA and token', () => {
    writeFileSync(join(dataDir, 'token'), 'secret\n');
    mkdirSync(join(dataDir, 'tls'));
    writeFileSync(join(dataDir, 'tls', 'cert.pem'), 'CA');
    writeRecord({ listeners: ['https://127.0.0.1:45678'] });
    const ep = resolveEndpoint({ dataDir }, { env: noEnv }) as Endpoint;
    expect(ep).toMatchObject({ url: 'https://127.0.0.1:45678', host: '127.0.0.1', port: 45678, tls: true, token: 'secret', tokenSource: join(dataDir, 'token'), caFile: join(dataDir, 'tls', 'cert.pem'), dataDir });
    expect(ep.ca?.toString()).toBe('CA');
    expect((resolveEndpoint({ dataDir, token: 't' }, { env: { PODVISOR_TOKEN: 'e' } }) as Endpoint).tokenSource).toBe('--token');
    expect((resolveEndpoint({ dataDir }, { env: { PODVISOR_TOKEN: 'e' } }) as Endpoint)).toMatchObject({ token: 'e', tokenSource: '$PODVISOR_TOKEN' });
  });

  it('a missing token is reported before anything else is read', () => {
    writeFileSync(endpointPath(dataDir), 'not json');
    expect(resolveEndpoint({ dataDir }, { env: noEnv })).toEqual({ missingToken: true, dataDir, file: join(dataDir, 'token') });
  });
});
