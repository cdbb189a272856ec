/** `generateName` as the API server's `names.SimpleNameGenerator` does it (randomness injected). */
import { describe, expect, it } from 'vitest';
import { GENERATED_SUFFIX_ALPHABET, generateNameFrom, MAX_GENERATED_BASE_LENGTH } from '../../src/api/names.js';

describe('generateNameFrom', () => {
  it('appends 5 characters of the alphabet to a short base', () => {
    const picks = [0, 1, 2, 25, 26];
    let i = 0;
    expect(generateNameFrom('worker-', (n) => {
      expect(n).toBe(27);
      return picks[i++] ?? 0;
    })).toBe('worker-bcd89');
    expect(GENERATED_SUFFIX_ALPHABET).toBe('bcdfghjklmnpqrstvwxz2456789');
  });

  it('cuts a long base to 58 characters, so that the name has 63 whatever the base', () => {
    for (const len of [57, 58, 59, 250, 253]) {
      const base = 'a'.repeat(len);
      const name = generateNameFrom(base, () => 0);
      expect(name).toBe(`${'a'.repeat(Math.min(len, MAX_GENERATED_BASE_LENGTH))}bbbbb`);
      expect(name.length).toBeLessThanOrEqual(63);
    }
  });
});
