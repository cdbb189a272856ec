/**
 * conmon's exit directory as the monitor reads it: exits are reported from the files conmon
 * writes, and the watch holds Node's event loop exactly while an exit is awaited (conmon is no
 * child of podvisor's, so nothing else would keep `podvisor run` alive while containers run).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ExitDir } from '../../src/runtime/monitor/exit-dir.js';
import { makeTempDir } from './helpers.js';

/** inotify watches that keep the event loop alive. */
const heldWatches = (): number => process.getActiveResourcesInfo().filter((r) => r === 'FSEventWrap').length;

describe('ExitDir', () => {
  let tmp: { dir: string; remove: () => void };
  let exits: ExitDir;

  beforeEach(async () => {
    tmp = makeTempDir('podvisor-exits-');
    exits = new ExitDir(join(tmp.dir, 'exits'));
    await exits.init();
  });
  afterEach(() => {
    exits.close();
    tmp.remove();
  });

  it('reports an exit written later, with its signal, and holds the process only while waiting', async () => {
    const before = heldWatches();
    const a = exits.wait('a');
    const b = exits.wait('b');
    expect(exits.wait('a')).toBe(a);
    expect(heldWatches()).toBe(before + 1);
    writeFileSync(join(tmp.dir, 'exits', 'a'), '137');
    expect(await a).toMatchObject({ exitCode: 137, signal: 'SIGKILL' });
    expect(heldWatches()).toBe(before + 1); // b is still awaited
    await exits.forget('b');
    expect(heldWatches()).toBe(before);
    void b;
    writeFileSync(join(tmp.dir, 'exits', 'c'), '3');
    expect(await exits.wait('c')).toMatchObject({ exitCode: 3 }); // already there: at once
    expect(exits.read('c')?.signal).toBeUndefined();
    expect(heldWatches()).toBe(before);
  });
});
