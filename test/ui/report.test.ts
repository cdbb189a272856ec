/**
 * `podvisor run --report FILE.html`: the example's three restart levels drawn in one
 * self-contained page, rendered by real Chromium with the network off.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { canMount, cli, ensureBuilt, ROOT } from '../e2e/helpers.js';
import { browserTests, launch, screenshotPath } from './browser.js';

describe.skipIf(!browserTests || (!canMount() && process.env.CI !== 'true'))('podvisor run --report', () => {
  let browser: Browser;
  const dir = mkdtempSync(join(tmpdir(), 'podvisor-report-'));
  beforeAll(async () => {
    ensureBuilt();
    browser = await launch();
  });
  afterAll(async () => {
    await browser?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('writes the ml-training timeline: lanes, one bar per run, a band per pod-level restart, offline', async () => {
    const file = join(dir, 't.html');
    const r = await cli(['run', '-f', join(ROOT, 'examples/ml-training.yaml'), '--report', file, '--data-dir', join(dir, 'data')], { timeoutMs: 90_000 });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain(`report: ${file}`);
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<script|<link|src=/); // self-contained: nothing to fetch

    const context = await browser.newContext({ offline: true, viewport: { width: 1200, height: 600 } });
    const requests: string[] = [];
    context.on('request', (req) => { if (!req.url().startsWith('file:')) requests.push(req.url()); });
    const page = await context.newPage();
    await page.goto(`file://${file}`);
    const svg = page.locator('svg.pv-timeline');
    await expect.poll(() => svg.count()).toBe(1);

    // A lane per init container, sidecar and container, in pod order.
    const lanes = await page.$$eval('.pv-lane', (els) => els.map((e) => `${e.getAttribute('data-lane')}:${e.getAttribute('data-kind')}`));
    expect(lanes).toEqual(['prepare-data:init', 'metrics:sidecar', 'trainer:container']);

    // The trainer ran four times: exit 3 (container restart), exit 42 (pod restart in place),
    // exit 42 again (over the budget: re-created), then to the end in the new pod.
    const trainer = await page.$$eval('.pv-lane[data-lane="trainer"] .pv-run', (els) => els.map((e) => ({
      outcome: e.getAttribute('data-outcome'), start: Number(e.getAttribute('data-start')), end: Number(e.getAttribute('data-end')),
      title: e.querySelector('title')?.textContent ?? '', width: Number(e.querySelector('rect')?.getAttribute('width')),
    })));
    expect(trainer.map((t) => t.outcome)).toEqual(['failed', 'failed', 'failed', 'completed']);
    expect(trainer[0]?.title).toContain('exit code 3 matched restartPolicyRules[1] (Restart)');
    expect(trainer[1]?.title).toContain('exited with code 42 matching restartPolicyRules[0]');
    expect(trainer[2]?.title).toContain('exceeded its restart budget');
    for (let i = 1; i < trainer.length; i++) expect(trainer[i]!.start).toBeGreaterThanOrEqual(trainer[i - 1]!.end);
    for (const t of trainer) expect(t.width).toBeGreaterThan(0);
    // The init container ran in the first pod, again in the in-place restart, and in the new pod.
    expect(await page.locator('.pv-lane[data-lane="prepare-data"] .pv-run[data-outcome="completed"]').count()).toBe(3);
    // The sidecar's first two runs were killed by the pod-level restarts.
    expect(await page.locator('.pv-lane[data-lane="metrics"] .pv-run[data-outcome="killed"]').count()).toBe(2);
    // Its last run was stopped as the pod ended (after the trainer), not a crash.
    expect(await page.$$eval('.pv-lane[data-lane="metrics"] .pv-run', (els) => els.map((e) => e.getAttribute('data-outcome')))).toEqual(['killed', 'killed', 'stopped']);

    // One band per pod-level restart, with its trigger, between the runs it separates.
    const bands = await page.$$eval('.pv-band', (els) => els.map((e) => ({ level: e.getAttribute('data-level'), trigger: e.getAttribute('data-trigger'), x: Number(e.querySelector('rect')?.getAttribute('x')) })));
    expect(bands.map((b) => `${b.level}:${b.trigger}`)).toEqual(['pod:restartPolicyRules[0]', 'recreate:budget']);
    expect(bands[0]!.x).toBeLessThan(bands[1]!.x);
    expect(await page.locator('.pv-band[data-level="pod"] title').textContent()).toContain('pod restarted in place');

    // Readable: the summary names the three levels; the SVG has an accessible name and description.
    expect(await page.locator('.meta').nth(1).textContent()).toContain('restarts: 1 container, 1 pod in place, 1 re-created');
    expect(await svg.getAttribute('role')).toBe('img');
    expect(await page.locator('svg.pv-timeline desc').textContent()).toContain('1 container restarts, 1 in-place pod restarts, 1 re-creations');

    await page.screenshot({ path: screenshotPath('report.png'), fullPage: true });
    expect(requests).toEqual([]);
    await context.close();
  });
});
