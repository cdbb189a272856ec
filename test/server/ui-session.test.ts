/** Web UI sessions: MACs keyed by the daemon's token, nothing stored. */
import { describe, expect, it } from 'vitest';
import { cookieValue, SESSION_TTL_MS, SessionKeys } from '../../src/server/ui/session.js';
import { sessionMayUse } from '../../src/server/ui/web-ui.js';

describe('SessionKeys', () => {
  const keys = new SessionKeys('the-token');
  const now = Date.parse('2026-12-07T12:00:00Z');

  it('a cookie it issued verifies, with the same CSRF token, until it expires', () => {
    const { cookie, session } = keys.issue(now);
    expect(keys.verify(cookie, now + 1000)).toEqual(session);
    expect(keys.verify(cookie, now + SESSION_TTL_MS - 1)).toEqual(session);
    expect(keys.verify(cookie, now + SESSION_TTL_MS + 1)).toBeUndefined();
    expect(session.csrfToken).not.toBe('');
    expect(cookie).not.toContain(session.csrfToken); // the cookie does not carry the CSRF token
  });

  it('a tampered cookie, another token\'s cookie or a second session\'s CSRF token do not pass', () => {
    const { cookie } = keys.issue(now);
    const [v, issued, nonce, mac] = cookie.split('.');
    expect(keys.verify(`${v}.${Number(issued) + 1}.${nonce}.${mac}`, now)).toBeUndefined();
    expect(keys.verify(`${v}.${issued}.${nonce}.${mac!.slice(0, -1)}${mac!.endsWith('A') ? 'B' : 'A'}`, now)).toBeUndefined();
    expect(new SessionKeys('another-token').verify(cookie, now)).toBeUndefined();
    expect(keys.issue(now).session.csrfToken).not.toBe(keys.verify(cookie, now)?.csrfToken);
    expect(keys.verify('', now)).toBeUndefined();
  });

  it('a signed-out session is refused, also a copy of its cookie; others go on', () => {
    const k = new SessionKeys('t');
    const a = k.issue(now).cookie;
    const b = k.issue(now).cookie;
    k.revoke(a, now + 5);
    expect(k.verify(a, now + 10)).toBeUndefined();
    expect(k.verify(b, now + 10)).toBeDefined();
    k.revoke('v1.garbage', now); // not ours: nothing happens
    expect(k.verify(b, now + 10)).toBeDefined();
  });

  it('the token compares in full only', () => {
    expect(keys.tokenMatches('the-token')).toBe(true);
    expect(keys.tokenMatches('the-toke')).toBe(false);
    expect(keys.tokenMatches('the-token ')).toBe(false);
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(cookieValue('a=1; __Host-podvisor-ui=v1.x; b=2', '__Host-podvisor-ui')).toBe('v1.x');
    expect(cookieValue('a=1', '__Host-podvisor-ui')).toBeUndefined();
    expect(cookieValue(undefined, 'a')).toBeUndefined();
  });
});

describe('sessionMayUse', () => {
  it('the pages\' reads and the restart verbs only', () => {
    for (const [m, p] of [['GET', '/api/v1/pods'], ['GET', '/api/v1/namespaces'], ['GET', '/api/v1/namespaces/a/pods'], ['GET', '/api/v1/namespaces/a/pods/b'],
      ['GET', '/api/v1/namespaces/a/pods/b/log'], ['GET', '/api/v1/namespaces/a/pods/b/restarts'], ['GET', '/api/v1/namespaces/a/events'],
      ['POST', '/api/v1/namespaces/a/pods/b/restart'], ['POST', '/api/v1/namespaces/a/pods/b/recreate']]) expect(sessionMayUse(m!, p!), `${m} ${p}`).toBe(true);
    for (const [m, p] of [['GET', '/api/v1/namespaces/a/secrets'], ['GET', '/api/v1/namespaces/a/secrets/b'], ['GET', '/api/v1/namespaces/a/configmaps'],
      ['DELETE', '/api/v1/namespaces/a/pods/b'], ['PUT', '/api/v1/namespaces/a/pods/b'], ['PATCH', '/api/v1/namespaces/a/pods/b'], ['POST', '/api/v1/namespaces/a/pods'],
      ['GET', '/api/v1/namespaces/a/pods/b/exec'], ['POST', '/api/v1/namespaces/a/pods/b/exec'], ['GET', '/metrics'], ['GET', '/apis'],
      ['GET', '/api/v1/namespaces/a/pods/b/c/log'], ['POST', '/api/v1/namespaces/a/pods/b/restart/x']]) expect(sessionMayUse(m!, p!), `${m} ${p}`).toBe(false);
  });
});
