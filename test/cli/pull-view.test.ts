// The live view's pull progress: one line rewritten in place on a TTY (throttled, cleared before
// any other line), one line per fetched blob elsewhere.
import { describe, expect, it } from 'vitest';
import { PullView } from '../../src/cli/pull-view.js';
import { palette } from '../../src/cli/view.js';

function sink(): { stream: NodeJS.WritableStream; text: () => string } {
  let out = '';
  const stream = { write: (s: string) => { out += s; return true; } } as unknown as NodeJS.WritableStream;
  return { stream, text: () => out };
}

describe('PullView', () => {
  it('on a TTY: one line with a bar, redrawn in place at most every 100 ms, cleared before the next line', () => {
    const s = sink();
    let t = 0;
    const v = new PullView(s.stream, true, palette(false), () => t);
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 0, total: 1000 });
    t = 50;
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 500, total: 1000 }); // throttled
    t = 150;
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 500, total: 1000 });
    v.write('next line\n');
    expect(s.text()).toBe(
      `pulling pod/p [c] layer abcdef012345: 0B / 1.00kB [${' '.repeat(20)}]`
      + `\r\u001b[2Kpulling pod/p [c] layer abcdef012345: 500B / 1.00kB [${'='.repeat(10)}${' '.repeat(10)}]`
      + '\r\u001b[2Knext line\n',
    );
  });

  it('elsewhere: one line per blob, when it is fetched', () => {
    const s = sink();
    const v = new PullView(s.stream, false, palette(false));
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 10, total: 20 });
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 20, total: 20 });
    v.progress('p', 'c', { blob: 'abcdef012345', kind: 'layer', done: 20, total: 20 });
    v.write('x\n');
    expect(s.text()).toBe('pulling pod/p [c] layer abcdef012345: 20B / 20B\nx\n');
  });
});
