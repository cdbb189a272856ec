// The kubelet's AtomicWriter layout and guarantees, on real files: a timestamped directory behind
// `..data`, swapped atomically; user-visible symlinks; stale entries removed; modes applied; no
// rewrite of an unchanged payload; and a concurrent reader that never sees a partial version.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_DIR_NAME, InvalidPayloadPathError, writeAtomicVolume, type AtomicFile } from '../../src/runtime/atomic-writer.js';

const root = mkdtempSync(join(tmpdir(), 'podvisor-atomic-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const freshDir = (): string => join(root, `vol-${n++}`);

const file = (path: string, content: string, mode = 0o644): AtomicFile => ({ path, data: new TextEncoder().encode(content), mode });
const read = (dir: string, p: string): string => readFileSync(join(dir, p), 'utf8');
const modeOf = (p: string): number => statSync(p).mode & 0o7777;
/** The names in `dir`, hidden ones included, sorted. */
const entries = (dir: string): string[] => readdirSync(dir).sort();
const tsDirs = (dir: string): string[] => entries(dir).filter((e) => e.startsWith('..') && e !== DATA_DIR_NAME);

function names(...list: string[]): () => string {
  let i = 0;
  return () => list[i++] ?? `..extra-${i}`;
}

describe('writeAtomicVolume: layout', () => {
  it('writes the payload into a timestamped directory behind ..data, with top-level symlinks', async () => {
    const dir = freshDir();
    const r = await writeAtomicVolume(dir, [file('a', 'A'), file('conf/app/x.conf', 'X', 0o600)]);
    expect(r).toEqual({ changed: true });
    const ts = tsDirs(dir);
    expect(ts).toHaveLength(1);
    expect(ts[0]).toMatch(/^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\..+$/);
    expect(readlinkSync(join(dir, DATA_DIR_NAME))).toBe(ts[0]);
    expect(readlinkSync(join(dir, 'a'))).toBe('..data/a');
    expect(readlinkSync(join(dir, 'conf'))).toBe('..data/conf');
    expect(entries(dir)).toEqual([ts[0], '..data', 'a', 'conf'].sort());
    expect(read(dir, 'a')).toBe('A');
    expect(read(dir, 'conf/app/x.conf')).toBe('X');
    expect(modeOf(join(dir, ts[0] ?? ''))).toBe(0o755);
  });

  it('applies each file mode whatever the umask (0400, 0600, 0755, 0644)', async () => {
    const dir = freshDir();
    const modes = [0o400, 0o600, 0o755, 0o644];
    await writeAtomicVolume(dir, modes.map((m, i) => file(`f${i}`, 'x', m)));
    expect(modes.map((_, i) => modeOf(join(dir, `f${i}`)))).toEqual(modes);
  });

  it('uses the injected timestamped directory names', async () => {
    const dir = freshDir();
    const next = names('..first', '..second');
    await writeAtomicVolume(dir, [file('a', '1')], { timestampDirName: next });
    await writeAtomicVolume(dir, [file('a', '2')], { timestampDirName: next });
    expect(readlinkSync(join(dir, DATA_DIR_NAME))).toBe('..second');
    expect(tsDirs(dir)).toEqual(['..second']);
  });
});

describe('writeAtomicVolume: updates', () => {
  it('does not rewrite an unchanged payload (same content, modes and entries)', async () => {
    const dir = freshDir();
    const payload = [file('a', 'A'), file('d/b', 'B', 0o600)];
    await writeAtomicVolume(dir, payload, { timestampDirName: names('..v1', '..v2') });
    const before = lstatSync(join(dir, '..v1', 'a')).mtimeMs;
    expect(await writeAtomicVolume(dir, payload, { timestampDirName: names('..v2') })).toEqual({ changed: false });
    expect(readlinkSync(join(dir, DATA_DIR_NAME))).toBe('..v1');
    expect(lstatSync(join(dir, '..v1', 'a')).mtimeMs).toBe(before);
  });

  it('a mode change alone is a change', async () => {
    const dir = freshDir();
    await writeAtomicVolume(dir, [file('a', 'A', 0o644)]);
    expect(await writeAtomicVolume(dir, [file('a', 'A', 0o600)])).toEqual({ changed: true });
    expect(modeOf(join(dir, 'a'))).toBe(0o600);
  });

  it('removes stale keys, their symlinks and the previous version', async () => {
    const dir = freshDir();
    await writeAtomicVolume(dir, [file('a', 'A'), file('b', 'B'), file('conf/x', 'X'), file('keep/y', 'Y'), file('keep/z', 'Z')], { timestampDirName: names('..v1') });
    const r = await writeAtomicVolume(dir, [file('a', 'A2'), file('keep/y', 'Y')], { timestampDirName: names('..v2') });
    expect(r).toEqual({ changed: true });
    expect(entries(dir)).toEqual(['..data', '..v2', 'a', 'keep']);
    expect(read(dir, 'a')).toBe('A2');
    expect(readdirSync(join(dir, 'keep'))).toEqual(['y']);
  });

  it('an empty payload empties the volume', async () => {
    const dir = freshDir();
    await writeAtomicVolume(dir, [file('a', 'A')]);
    expect(await writeAtomicVolume(dir, [])).toEqual({ changed: true });
    expect(entries(dir).filter((e) => !e.startsWith('..'))).toEqual([]);
    expect(readdirSync(join(dir, DATA_DIR_NAME))).toEqual([]);
    expect(await writeAtomicVolume(dir, [])).toEqual({ changed: false });
  });

  it('recreates a missing user-visible symlink', async () => {
    const dir = freshDir();
    await writeAtomicVolume(dir, [file('a', 'A')]);
    rmSync(join(dir, 'a'));
    expect(await writeAtomicVolume(dir, [file('a', 'A')])).toEqual({ changed: true });
    expect(read(dir, 'a')).toBe('A');
  });
});

describe('writeAtomicVolume: paths', () => {
  const cases: [string, string][] = [
    ['', 'invalid path: must not be empty: ""'],
    ['/etc/passwd', 'invalid path: must be relative path: /etc/passwd'],
    ['a/../../b', "invalid path: must not contain '..': a/../../b"],
    ['..data', "invalid path: must not start with '..': ..data"],
    [`${'n'.repeat(256)}`, 'invalid path: filenames must be less than or equal to 255 characters'],
  ];
  for (const [p, message] of cases) {
    it(`refuses ${JSON.stringify(p.slice(0, 20))} before touching anything`, async () => {
      const dir = freshDir();
      const err = await writeAtomicVolume(dir, [file('ok', 'x'), file(p, 'x')]).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InvalidPayloadPathError);
      expect((err as Error).message).toBe(message);
      expect(() => readdirSync(dir)).toThrow(/ENOENT/);
    });
  }

  it('refuses a file that is also a directory of another file', async () => {
    await expect(writeAtomicVolume(freshDir(), [file('a', '1'), file('a/b', '2')])).rejects.toThrow('invalid path: a is both a file and a directory');
  });

  it('cleans paths (a//b/./c is a/b/c)', async () => {
    const dir = freshDir();
    await writeAtomicVolume(dir, [file('a//b/./c', 'C')]);
    expect(read(dir, 'a/b/c')).toBe('C');
  });
});

// The reader runs in another thread with synchronous reads, truly concurrent with the writer.
const READER = `
const { parentPort, workerData } = require('node:worker_threads');
const fs = require('node:fs');
const path = require('node:path');
const { dir, stop } = workerData;
const flag = new Int32Array(stop);
const expectedSet = (g) => (g % 2 === 0 ? ['a', 'b', 'c'] : ['a', 'b']);
const body = (name, g) => name + ':' + g + ':' + String(g).repeat(4000) + ':end';
const stats = { snapshots: 0, files: 0, generations: new Set(), failures: [] };
const check = (name, text) => {
  const m = /^(\\w+):(\\d+):/.exec(text);
  if (!m || m[1] !== name || text !== body(name, Number(m[2]))) { stats.failures.push('partial ' + name + ': ' + text.slice(0, 40) + '... (' + text.length + ' bytes)'); return -1; }
  return Number(m[2]);
};
const gone = (e) => e && e.code === 'ENOENT';
while (Atomics.load(flag, 0) === 0) {
  // 1. ..data always resolves: the swap is a rename, never a gap.
  let ts;
  try { ts = fs.readlinkSync(path.join(dir, '..data')); } catch (e) { stats.failures.push('..data missing: ' + e.code); continue; }
  // 2. One version read through its own directory is complete and consistent. A version that
  //    stopped being current meanwhile may be being removed (entries vanish): the sample is
  //    dropped then; the current version is never touched, so it must be whole.
  try {
    const names = fs.readdirSync(path.join(dir, ts)).sort();
    const gens = names.map((n) => check(n, fs.readFileSync(path.join(dir, ts, n), 'utf8')));
    const g = gens[0];
    if (fs.readlinkSync(path.join(dir, '..data')) !== ts) continue;
    if (gens.some((x) => x !== g)) stats.failures.push('mixed version ' + ts + ': ' + gens.join(','));
    else if (names.join() !== expectedSet(g).join()) stats.failures.push('entries of ' + g + ': ' + names.join());
    else { stats.snapshots++; stats.generations.add(g); }
  } catch (e) { if (!gone(e)) stats.failures.push('snapshot: ' + e.message); }
  // 3. Every file read through the user-visible path is whole.
  for (const n of ['a', 'b']) {
    try { check(n, fs.readFileSync(path.join(dir, n), 'utf8')); stats.files++; } catch (e) { if (!gone(e)) stats.failures.push(n + ': ' + e.message); }
  }
}
parentPort.postMessage({ snapshots: stats.snapshots, files: stats.files, generations: stats.generations.size, failures: stats.failures.slice(0, 10) });
`;

describe('writeAtomicVolume: a concurrent reader', () => {
  it('never sees a half-written or mixed version while the writer updates in a loop', async () => {
    const dir = freshDir();
    const body = (name: string, g: number): string => `${name}:${g}:${String(g).repeat(4000)}:end`;
    const version = (g: number): AtomicFile[] => (g % 2 === 0 ? ['a', 'b', 'c'] : ['a', 'b']).map((name) => file(name, body(name, g)));
    await writeAtomicVolume(dir, version(0));
    const stop = new SharedArrayBuffer(4);
    const worker = new Worker(READER, { eval: true, workerData: { dir, stop } });
    const result = new Promise<{ snapshots: number; files: number; generations: number; failures: string[] }>((resolve, reject) => {
      worker.once('message', resolve);
      worker.once('error', reject);
    });
    await new Promise<void>((resolve) => worker.once('online', () => resolve()));
    // Write versions until enough were written and the reader saw several, within a deadline.
    const deadline = Date.now() + 20_000;
    let g = 1;
    for (; Date.now() < deadline && g <= 400; g++) await writeAtomicVolume(dir, version(g));
    Atomics.store(new Int32Array(stop), 0, 1);
    const stats = await result;
    await worker.terminate();
    expect(stats.failures).toEqual([]);
    expect(g).toBeGreaterThan(50);
    expect(stats.snapshots).toBeGreaterThan(0);
    expect(stats.files).toBeGreaterThan(0);
    expect(stats.generations).toBeGreaterThan(1);
    expect(tsDirs(dir)).toHaveLength(1);
  }, 60_000);
});
