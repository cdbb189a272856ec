// The set-up channel is watched with inotify; where no watch can be had (here: the bundle does
// not exist yet when the watch begins; in production also the inotify watch limit), it is read
// periodically instead, so a start is still reported when the wrapper writes OK.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { watchSetup } from '../../src/runtime/monitor/setup-channel.js';

const within5s = <T>(p: Promise<T>): Promise<T | 'timeout'> => Promise.race([p, new Promise<'timeout'>((res) => setTimeout(() => res('timeout'), 5_000))]);

describe('watchSetup', () => {
  for (const inotify of [true, false]) {
    it(`reports OK written after the watch began (${inotify ? 'inotify' : 'no inotify watch: read periodically'})`, async () => {
      const dir = mkdtempSync(join(tmpdir(), 'podvisor-setup-'));
      const bundle = join(dir, 'bundle');
      try {
        if (inotify) mkdirSync(bundle);
        const seen = watchSetup(bundle, new Promise<void>(() => undefined));
        if (!inotify) mkdirSync(bundle);
        writeFileSync(join(bundle, 'setup'), 'OK\n');
        expect(await within5s(seen)).toEqual({ ok: true, text: 'OK\n' });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });
  }
});
