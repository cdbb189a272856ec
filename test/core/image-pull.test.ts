/** The kubelet's image pull decisions and messages. */
import { describe, expect, it } from 'vitest';
import { goDuration, imageDecision, imageMessages } from '../../src/core/image-pull.js';

describe('image pull decisions', () => {
  const rows: [string | undefined, boolean, string][] = [
    ['Always', true, 'pull'], ['Always', false, 'pull'],
    ['IfNotPresent', true, 'use'], ['IfNotPresent', false, 'pull'],
    ['Never', true, 'use'], ['Never', false, 'never-pull-missing'],
    [undefined, false, 'pull'],
  ];
  for (const [policy, present, want] of rows) {
    it(`${policy ?? '(none)'}, ${present ? 'present' : 'missing'}: ${want}`, () => expect(imageDecision(policy, present)).toBe(want));
  }
});

describe('messages', () => {
  it('prints durations as Go does, truncated to milliseconds', () => {
    expect([0, 0.9, 1, 512, 999.9, 1000, 1234.56, 1500, 15_981, 60_000, 61_500, 3_600_000, 3_723_004].map(goDuration))
      .toEqual(['0s', '0s', '1ms', '512ms', '999ms', '1s', '1.234s', '1.5s', '15.981s', '1m0s', '1m1.5s', '1h0m0s', '1h2m3.004s']);
  });
  it('spells the events as the kubelet does', () => {
    expect(imageMessages.pulled('g1g1/py-kube', 15_981, 15_981, 129_338_587)).toBe('Successfully pulled image "g1g1/py-kube" in 15.981s (15.981s including waiting). Image size: 129338587 bytes.');
    expect(imageMessages.pulling('busybox')).toBe('Pulling image "busybox"');
    expect(imageMessages.present('busybox:1.36')).toBe('Container image "busybox:1.36" already present on machine');
    expect(imageMessages.neverPullMissing('x')).toBe('Container image "x" is not present with pull policy of Never');
    expect(imageMessages.backOff('x')).toBe('Back-off pulling image "x"');
    expect(imageMessages.invalidName('Bad')).toBe('Failed to apply default image tag "Bad": couldn\'t parse image reference "Bad": invalid reference format');
  });
});
