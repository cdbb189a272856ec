/**
 * `podvisor logs --since/--since-time` (cli/client.ts): the query kubectl would send, and a run
 * against the API server in process (the fake agent) over a CRI log file.
 */
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { formatCriRecord } from '../../src/api/cri-log.js';
import { logQuery, runLogs } from '../../src/cli/client.js';
import { podManifest, startApi, type TestApi } from '../server/helpers.js';

describe('logQuery', () => {
  it('sends --since as whole seconds and --since-time as RFC3339Nano in UTC', () => {
    const q = (o: Parameters<typeof logQuery>[0]): string => {
      const r = logQuery(o);
      return typeof r === 'string' ? `error: ${r}` : r.toString();
    };
    expect(q({})).toBe('');
    expect(q({ since: '2s' })).toBe('sinceSeconds=2');
    expect(q({ since: '5m', timestamps: true, tail: '3' })).toBe('tailLines=3&timestamps=true&sinceSeconds=300');
    expect(q({ since: '1h' })).toBe('sinceSeconds=3600');
    expect(q({ since: '1500ms' })).toBe('sinceSeconds=2');
    expect(q({ since: '0' })).toBe('');
    expect(q({ sinceTime: '2026-12-06T23:48:13Z' })).toBe('sinceTime=2026-12-06T23%3A48%3A13Z');
    expect(q({ sinceTime: '2026-12-07T01:48:13.5+02:00' })).toBe('sinceTime=2026-12-06T23%3A48%3A13.5Z');
    expect(q({ since: '10' })).toMatch(/^error: invalid argument "10" for "--since" flag/);
    expect(q({ since: '-1s' })).toBe('error: --since must be greater than 0');
    expect(q({ sinceTime: 'yesterday' })).toMatch(/^error: invalid --since-time "yesterday"/);
    expect(q({ since: '1m', sinceTime: '2026-12-06T23:48:13Z' })).toBe('error: at most one of `sinceTime` or `sinceSeconds` may be specified');
  });
});

describe('podvisor logs against the API', () => {
  let api: TestApi;
  let stdout = '';
  let stderr = '';

  beforeEach(async () => {
    api = await startApi();
    const res = await api.req('/api/v1/namespaces/default/pods', { method: 'POST', body: JSON.stringify(podManifest('web')), headers: { 'content-type': 'application/json' } });
    expect(res.status).toBe(201);
    stdout = '';
    stderr = '';
    vi.spyOn(process.stdout, 'write').mockImplementation((s: string | Uint8Array) => ((stdout += String(s)), true));
    vi.spyOn(process.stderr, 'write').mockImplementation((s: string | Uint8Array) => ((stderr += String(s)), true));
  });

  afterEach(async () => {
    vi.restoreAllMocks();
    await api.close();
  });

  it('shows only the lines newer than --since or at/after --since-time', async () => {
    const now = BigInt(Date.now()) * 1_000_000n;
    const hour = 3_600_000_000_000n;
    api.fake.writeLog('default', 'web', 'main', formatCriRecord(now - 2n * hour, 'stdout', false, 'old') + formatCriRecord(now - 1_000_000_000n, 'stderr', false, 'new'));
    const flags = { server: api.url, token: 'unused' };
    expect(await runLogs('web', { since: '1h' }, flags)).toBe(0);
    expect(stdout).toBe('new\n');
    stdout = '';
    expect(await runLogs('web', { sinceTime: '2000-01-01T00:00:00Z' }, flags)).toBe(0);
    expect(stdout).toBe('old\nnew\n');
    stdout = '';
    expect(await runLogs('web', { since: 'soon' }, flags)).toBe(1);
    expect(stdout).toBe('');
    expect(stderr).toMatch(/^error: invalid argument "soon" for "--since" flag/);
  });
});
