/**
 * The boolean log options (`previous`, `follow`, `timestamps`) are converted as the API server
 * converts query booleans: Python's client spells them `True`, and a follow it asked for must
 * not be served as a plain read (it once returned only what was written so far).
 */
import { describe, expect, it } from 'vitest';
import { parseLogOptions, type LogOptions } from '../../src/server/logs.js';

const parse = (query: string): LogOptions => {
  const o = parseLogOptions(new URLSearchParams(query), 'web', 0);
  if ('kind' in o) throw new Error(`unexpected Status: ${o.message}`);
  return o;
};

describe('parseLogOptions booleans', () => {
  it.each([
    ['follow=true', true],
    ['follow=True', true], // python3-kubernetes
    ['follow=TRUE', true],
    ['follow=1', true],
    ['follow=', true], // present, empty: true for the API server too
    ['follow=yes', true],
    ['', false],
    ['follow=false', false],
    ['follow=False', false],
    ['follow=0', false],
  ])('%s gives follow %s', (query, follow) => {
    expect(parse(query).follow).toBe(follow);
  });

  it('previous and timestamps are converted the same way', () => {
    expect(parse('previous=True&timestamps=True')).toMatchObject({ previous: true, timestamps: true, follow: false });
    expect(parse('previous=False&timestamps=0&follow=False')).toMatchObject({ previous: false, timestamps: false, follow: false });
  });
});
