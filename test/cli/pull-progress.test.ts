// `podvisor pull` without a TTY prints one line per blob when it completes, also when an earlier
// report printed the same rounded sizes (the cause of a rare missing line in test/oci/pull.test.ts).
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { pullProgressPrinter } from '../../src/cli/images.js';

function capture(): { out: PassThrough; text: () => string } {
  const out = new PassThrough();
  const chunks: string[] = [];
  out.on('data', (d: Buffer) => chunks.push(d.toString()));
  return { out, text: () => chunks.join('') };
}

describe('pull progress', () => {
  it('a blob just above a 64 KiB step: the report at 64 KiB and the last one round alike; its completion line is still printed, once', () => {
    const c = capture();
    const p = pullProgressPrinter(c.out, false);
    const digest = `sha256:${'ab'.repeat(32)}`;
    // 65,536 and 65,540 bytes both print as 65.5kB.
    p.report({ kind: 'layer', digest, done: 65_536, total: 65_540 });
    p.report({ kind: 'layer', digest, done: 65_540, total: 65_540 });
    p.report({ kind: 'layer', digest, done: 65_540, total: 65_540 });
    p.report({ kind: 'config', digest: `sha256:${'cd'.repeat(32)}`, done: 10, total: 10 });
    p.end();
    expect(c.text()).toBe('layer abababababab: 65.5kB / 65.5kB\nconfig cdcdcdcdcdcd: 10B / 10B\n');
  });

  it('on a TTY the line is redrawn in place and cleared at the end', () => {
    const c = capture();
    const p = pullProgressPrinter(c.out, true);
    p.report({ kind: 'layer', digest: `sha256:${'ef'.repeat(32)}`, done: 5, total: 10 });
    p.end();
    expect(c.text()).toBe('\r\u001b[2Klayer efefefefefef: 5B / 10B\r\u001b[2K');
  });
});
