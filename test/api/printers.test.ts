/** The kubectl column printers (api/printers.ts) that the live view and the API's Tables share. */
import { describe, expect, it } from 'vitest';
import { shortAge } from '../../src/api/printers.js';

describe('shortAge (kubectl HumanDuration)', () => {
  const s = 1000;
  const table: [number, string][] = [
    [0, '0s'], [59 * s, '59s'], [119 * s, '119s'], [120 * s, '2m'], [182 * s, '3m2s'], [600 * s, '10m'],
    [179 * 60 * s, '179m'], [3 * 3600 * s, '3h'], [(4 * 3600 + 30 * 60) * s, '4h30m'], [30 * 3600 * s, '30h'],
    [53 * 3600 * s, '2d5h'], [72 * 3600 * s, '3d'], [30 * 86400 * s, '30d'], [(3 * 365 + 12) * 86400 * s, '3y12d'], [9 * 365 * 86400 * s, '9y'],
  ];
  for (const [ms, want] of table) it(`${ms / 1000}s -> ${want}`, () => expect(shortAge(ms)).toBe(want));
});
