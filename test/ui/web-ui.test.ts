/**
 * The web UI in real Chromium against a real `podvisor serve`: sign in with the token (and fail
 * without it), a pod applied with kubectl appears live, its restart count climbs while it
 * crash-loops, the pod page draws one bar per run and a band for the in-place restart its
 * `RestartAllContainers` rule triggered, "restart pod in place" adds a band, and the previous
 * instance's log can be read. Also: the UI's API refuses requests without the cookie, and
 * state-changing ones without the CSRF token.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { cli, ensureBuilt, freePort, ROOT, until } from '../e2e/helpers.js';
import { ServeNode } from '../e2e/serve-node.js';
import { browserTests, launch, screenshotPath } from './browser.js';

const KUBECTL = [join(ROOT, '.cache/kubectl-1.35/kubectl'), process.env['KUBECTL'] ?? '/usr/bin/kubectl'].find((p) => existsSync(p));

const POD = `apiVersion: v1
kind: Pod
metadata:
  name: crashy
  labels: {app: crashy}
spec:
  restartPolicy: Always
  terminationGracePeriodSeconds: 1
  containers:
    - name: main # crash-loops three times, then stays up
      image: busybox:1.36
      command: ["sh", "-c", "echo \\"main run $PODVISOR_RESTART_COUNT\\"; if [ \\"$PODVISOR_RESTART_COUNT\\" -lt 3 ]; then sleep 0.3; exit 1; fi; sleep 3600"]
    - name: worker # its exit 42 restarts the whole pod in place, once
      image: busybox:1.36
      restartPolicy: Always
      restartPolicyRules:
        - action: RestartAllContainers
          exitCodes: {operator: In, values: [42]}
      command: ["sh", "-c", "echo \\"worker pod restarts $PODVISOR_POD_RESTART_COUNT\\"; sleep 4; if [ \\"$PODVISOR_POD_RESTART_COUNT\\" = 0 ]; then exit 42; fi; sleep 3600"]
`;

/** A raw HTTPS request to the daemon (self-signed certificate), without following redirects. */
function raw(port: number, path: string, opts: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, method: opts.method ?? 'GET', headers: opts.headers ?? {}, rejectUnauthorized: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    req.on('error', reject);
    req.end(opts.body);
  });
}

describe.skipIf(!browserTests)('web UI', () => {
  const dir = mkdtempSync(join(tmpdir(), 'podvisor-ui-'));
  let node: ServeNode;
  let port = 0;
  let token = '';
  let kubeconfig = '';
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  const kubectl = (args: string[]) => {
    if (!KUBECTL) throw new Error('kubectl is missing (scripts/fetch-kubectl.sh)');
    return spawnSync(KUBECTL, ['--kubeconfig', kubeconfig, '--cache-dir', join(dir, 'kcache'), ...args], { encoding: 'utf8', timeout: 60_000 });
  };

  beforeAll(async () => {
    ensureBuilt();
    if (!existsSync(join(ROOT, 'dist/ui/index.html'))) spawnSync('npx', ['vite', 'build', '--logLevel', 'warn'], { cwd: ROOT, stdio: 'inherit' });
    port = await freePort();
    node = new ServeNode('host', port, dir, 'ui');
    await node.start();
    token = readFileSync(join(node.dataDir, 'token'), 'utf8').trim();
    const k = await cli(['kubeconfig', '--server', `https://127.0.0.1:${port}`, '--data-dir', node.dataDir]);
    kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(kubeconfig, k.stdout);
    browser = await launch();
    context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 900 } });
    page = await context.newPage();
  });
  afterAll(async () => {
    await browser?.close();
    await node?.stop('SIGTERM').catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves nothing but the login page and its assets without a session', async () => {
    // The daemon says where the UI is.
    const ready = node.daemon?.out.join('').split('\n').find((l) => l.includes('podvisor serve ready'));
    expect(JSON.parse(ready ?? '{}').ui).toEqual([`https://127.0.0.1:${port}/ui/`]);
    const index = readFileSync(join(ROOT, 'dist/ui/index.html'), 'utf8');
    const appAsset = /src="\/ui\/(assets\/[^"]+\.js)"/.exec(index)?.[1];
    expect(appAsset).toBeDefined();
    expect((await raw(port, '/ui/')).status).toBe(303);
    expect((await raw(port, '/ui/')).headers.location).toBe('/ui/login');
    expect((await raw(port, `/ui/${appAsset}`)).status).toBe(401);
    expect((await raw(port, '/ui/session')).status).toBe(401);
    expect((await raw(port, '/api/v1/pods')).status).toBe(401);
    const login = await raw(port, '/ui/login');
    expect(login.status).toBe(200);
    expect(login.headers['content-security-policy']).toContain("default-src 'self'");
    for (const m of login.body.matchAll(/(?:src|href)="(\/ui\/assets\/[^"]+)"/g)) expect((await raw(port, m[1] as string)).status).toBe(200);
    // A wrong token gets no cookie.
    const bad = await raw(port, '/ui/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: 'token=nope' });
    expect(bad.status).toBe(303);
    expect(bad.headers.location).toBe('/ui/login?failed=1');
    expect(bad.headers['set-cookie']).toBeUndefined();
  });

  it('signs in with the token only; the cookie is HttpOnly, Secure, SameSite=Strict', async () => {
    await page.goto(`https://127.0.0.1:${port}/ui/`);
    await page.waitForURL(/\/ui\/login/);
    await page.getByLabel('Token').fill('not-the-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('not the daemon');
    expect(await context.cookies()).toEqual([]);

    await page.getByLabel('Token').fill(token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.waitForURL(/\/ui\/(#.*)?$/);
    await page.locator('table#pods').waitFor();
    const cookies = await context.cookies();
    expect(cookies).toHaveLength(1);
    expect(cookies[0]).toMatchObject({ httpOnly: true, secure: true, sameSite: 'Strict', path: '/' });
  });

  it('the UI API: the cookie reads; a POST without the CSRF token is refused, with it accepted', async () => {
    const r = await page.evaluate(async () => {
      const restart = (headers: Record<string, string>) => fetch('/api/v1/namespaces/default/pods/no-such-pod/restart', { method: 'POST', headers: { 'Content-Type': 'application/json', ...headers }, body: '{}' });
      const list = await fetch('/api/v1/namespaces/default/pods');
      const noCsrf = await restart({});
      const wrongCsrf = await restart({ 'X-CSRF-Token': 'x' });
      const { csrfToken } = await (await fetch('/ui/session')).json() as { csrfToken: string };
      const ok = await restart({ 'X-CSRF-Token': csrfToken }); // through: the pod does not exist
      // Beyond what the pages do, the session is refused even with the CSRF token.
      const secrets = await fetch('/api/v1/namespaces/default/secrets');
      const create = await fetch('/api/v1/namespaces/default/configmaps', { method: 'POST', headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken }, body: JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'from-ui' } }) });
      return { list: list.status, noCsrf: noCsrf.status, wrongCsrf: wrongCsrf.status, ok: ok.status, secrets: secrets.status, create: create.status };
    });
    expect(r).toEqual({ list: 200, noCsrf: 403, wrongCsrf: 403, ok: 404, secrets: 403, create: 403 });
    // A stream (exec over WebSocket) never takes the cookie: it carries no CSRF header.
    const cookie = (await context.cookies())[0];
    const ws = await raw(port, '/api/v1/namespaces/default/pods/crashy/exec?command=id&stdout=1', {
      headers: { Cookie: `${cookie?.name}=${cookie?.value}`, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Version': '13', 'Sec-WebSocket-Key': 'dGhlIHNhbXBsZSBub25jZQ==', 'Sec-WebSocket-Protocol': 'v5.channel.k8s.io' },
    });
    expect(ws.status).toBe(401);
    // A page of another origin of the same site (another port of 127.0.0.1) may not use it.
    const sameSite = await raw(port, '/api/v1/namespaces/default/pods', { headers: { Cookie: `${cookie?.name}=${cookie?.value}`, 'Sec-Fetch-Site': 'same-site' } });
    expect(sameSite.status).toBe(403);
    expect((await raw(port, '/api/v1/namespaces/default/pods', { headers: { Cookie: `${cookie?.name}=${cookie?.value}`, 'Sec-Fetch-Site': 'same-origin' } })).status).toBe(200);
  });

  it('a pod applied with kubectl appears live; its restart count climbs while it crash-loops', async () => {
    expect(await page.locator('tr[data-pod="default/crashy"]').count()).toBe(0);
    const file = join(dir, 'crashy.yaml');
    writeFileSync(file, POD);
    const applied = kubectl(['apply', '-f', file]);
    expect(applied.status, applied.stderr).toBe(0);
    const row = page.locator('tr[data-pod="default/crashy"]');
    await row.waitFor({ timeout: 30_000 });
    const seen = new Set<string>();
    await until('restarts reach 3', async () => {
      const text = (await row.locator('td[data-col="restarts"]').textContent()) ?? '';
      seen.add(text.trim().split(' ')[0] ?? '');
      return Number(text.trim().split(' ')[0]) >= 3;
    }, 60_000);
    expect([...seen].some((s) => Number(s) < 3)).toBe(true); // it changed while we watched, not only at the end
    expect(await row.locator('td[data-col="status"]').textContent()).toBeTruthy();
  });

  it('the pod page: a bar per run, a band for the rule\'s in-place restart; "restart pod in place" adds one; the previous log reads', async () => {
    const podUrl = `https://127.0.0.1:${port}/ui/#/pods/default/crashy`;
    // The worker's exit 42 restarts the pod in place once (after 4 s).
    await until('the rule restarted the pod', async () => {
      const recs = await node.get('/api/v1/namespaces/default/pods/crashy/restarts');
      const items = (recs.items ?? recs) as { level: string }[];
      return items.some((n) => n.level === 'pod');
    }, 60_000);
    await page.goto(podUrl);
    const svg = page.locator('#timeline svg.pv-timeline');
    await svg.waitFor();
    const bandsOf = () => page.$$eval('#timeline .pv-band', (els) => els.map((e) => `${e.getAttribute('data-level')}:${e.getAttribute('data-trigger')}`));
    await expect.poll(bandsOf, { timeout: 20_000 }).toEqual(['pod:restartPolicyRules[0]']);
    // One bar per run of main: every ended run the records name, plus the current one (once main
    // stays up, after its third restart, the records no longer change under the count).
    await until('main stays up', async () => {
      const p = await node.get('/api/v1/namespaces/default/pods/crashy') as { status?: { containerStatuses?: { name: string; restartCount: number; state: { running?: unknown } }[] } };
      const main = p.status?.containerStatuses?.find((c) => c.name === 'main');
      return main !== undefined && main.restartCount >= 3 && main.state.running !== undefined;
    }, 90_000);
    const recs = await node.get('/api/v1/namespaces/default/pods/crashy/restarts');
    const items = (recs.items ?? recs) as { level: string; container?: string; removed?: { container: string }[] }[];
    const endedMain = items.filter((n) => n.level === 'container' && n.container === 'main').length
      + items.filter((n) => n.level === 'pod').reduce((a, n) => a + (n.removed ?? []).filter((x) => x.container === 'main').length, 0);
    await expect.poll(() => page.locator('#timeline .pv-lane[data-lane="main"] .pv-run').count(), { timeout: 20_000 }).toBe(endedMain + 1);
    expect(await page.locator('#timeline .pv-lane[data-lane="main"] .pv-run[data-outcome="running"]').count()).toBe(1);

    // Keyboard: the focused timeline zooms in with + (a narrower window) and back with 0.
    const windowOf = async () => {
      const el = page.locator('#timeline svg.pv-timeline');
      return Number(await el.getAttribute('data-to')) - Number(await el.getAttribute('data-from'));
    };
    const whole = await windowOf();
    await page.locator('#timeline-plot').focus();
    await page.keyboard.press('+');
    await expect.poll(windowOf).toBeLessThan(whole * 0.8);
    await page.keyboard.press('0');
    await expect.poll(windowOf).toBeGreaterThanOrEqual(whole * 0.95);
    // Every control has an accessible name.
    const unnamed = await page.$$eval('input, select, button, textarea', (els) => els.filter((e) => {
      const labels = (e as unknown as { labels?: { length: number } | null }).labels;
      return !(labels && labels.length > 0) && !e.getAttribute('aria-label') && !e.getAttribute('aria-labelledby') && (e.textContent ?? '').trim() === '';
    }).map((e) => e.outerHTML));
    expect(unnamed).toEqual([]);

    // Restart the pod in place from the page: the confirmation names what is kept and lost.
    await page.locator('#restart-pod').click();
    const dialog = page.locator('dialog#confirm');
    await dialog.waitFor();
    expect(await page.locator('#confirm-text').textContent()).toMatch(/Kept:.*UID.*Lost:/s);
    await page.locator('#confirm-ok').click();
    await expect.poll(bandsOf, { timeout: 30_000 }).toEqual(['pod:restartPolicyRules[0]', 'pod:api']);
    await page.screenshot({ path: screenshotPath('ui-pod.png'), fullPage: true });

    // The previous instance's log (main's instance the API restart removed).
    const prev = await raw(port, '/api/v1/namespaces/default/pods/crashy/log?container=main&previous=true', { headers: { Authorization: `Bearer ${token}` } });
    expect(prev.status).toBe(200);
    expect(prev.body).toMatch(/main run \d+/);
    await page.locator('#log-container').selectOption('main');
    await page.locator('#log-instance').selectOption('previous');
    await expect.poll(() => page.locator('#log-output').textContent(), { timeout: 20_000 }).toContain(prev.body.trim());
  });

  it('the pods page filters by label selector and namespace', async () => {
    await page.goto(`https://127.0.0.1:${port}/ui/#/`);
    const row = page.locator('tr[data-pod="default/crashy"]');
    await row.waitFor();
    await page.locator('#filter-labels').fill('app=other');
    await page.locator('#filter-labels').press('Enter');
    await expect.poll(() => row.count()).toBe(0);
    await page.locator('#filter-labels').fill('app=crashy');
    await page.locator('#filter-labels').press('Enter');
    await expect.poll(() => row.count()).toBe(1);
    await page.locator('#filter-namespace').selectOption('kube-system');
    await expect.poll(() => row.count()).toBe(0);
    await page.locator('#filter-namespace').selectOption('default');
    await expect.poll(() => row.count()).toBe(1);
    await page.locator('#filter-labels').fill('');
    await page.locator('#filter-labels').press('Enter');
  });

  it('the pods page after all that, for the README', async () => {
    await page.goto(`https://127.0.0.1:${port}/ui/#/`);
    await page.locator('tr[data-pod="default/crashy"]').waitFor();
    await page.screenshot({ path: screenshotPath('ui-pods.png') });
  });

  it('signing out ends the session, also for a copy of its cookie and after a restart of the daemon', async () => {
    const cookie = (await context.cookies())[0];
    const header = { Cookie: `${cookie?.name}=${cookie?.value}` };
    expect((await raw(port, '/api/v1/namespaces/default/pods', { headers: header })).status).toBe(200);
    // Another session, not signed out.
    const other = await raw(port, '/ui/login', { method: 'POST', headers: { 'Content-Type': 'application/x-www-form-urlencoded' }, body: `token=${encodeURIComponent(token)}` });
    const otherCookie = String(other.headers['set-cookie'] ?? '').split(';')[0] ?? '';
    expect(otherCookie).toMatch(/^__Host-podvisor-ui=v1\./);
    await page.locator('#sign-out').click();
    await page.waitForURL(/\/ui\/login/);
    expect(await context.cookies()).toEqual([]);
    expect((await raw(port, '/api/v1/namespaces/default/pods', { headers: header })).status).toBe(401);
    expect((await raw(port, '/ui/', { headers: header })).status).toBe(303);
    // A restart of the daemon keeps sessions, and keeps the sign-out.
    await node.stop('SIGTERM');
    await node.start();
    expect((await raw(port, '/api/v1/namespaces/default/pods', { headers: header })).status).toBe(401);
    expect((await raw(port, '/api/v1/namespaces/default/pods', { headers: { Cookie: otherCookie } })).status).toBe(200);
  });
});
