/** Web UI sessions: MACs keyed by the daemon's token; only sign-outs are stored. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cookieValue, SESSION_TTL_MS, SessionKeys, SIGN_OUT_RESOURCE, storedSignOuts } from '../../src/server/ui/session.js';
import { FileStore } from '../../src/store/file-store.js';
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

  it('a sign-out outlives a restart of the daemon (kept in its store until the session would expire)', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pv-signout-'));
    try {
      const open = (): FileStore => {
        const st = new FileStore(dir);
        st.open();
        return st;
      };
      const k1 = new SessionKeys('t', storedSignOuts(open()));
      const old = k1.issue(now - SESSION_TTL_MS + 1_000).cookie;
      const a = k1.issue(now).cookie;
      const b = k1.issue(now).cookie;
      k1.revoke(old, now);
      k1.revoke(a, now + 5);
      // A new daemon over the same data dir: a and its copies stay refused, b goes on.
      const store2 = open();
      const k2 = new SessionKeys('t', storedSignOuts(store2));
      expect(k2.verify(a, now + 10)).toBeUndefined();
      expect(k2.verify(b, now + 10)).toBeDefined();
      expect(store2.listObjects(SIGN_OUT_RESOURCE)).toHaveLength(2);
      // The next sign-out drops those whose session has expired by now.
      k2.revoke(b, now + 2_000);
      expect(open().listObjects(SIGN_OUT_RESOURCE).map((o) => o.metadata.name).sort()).toEqual([a, b].map((c) => c.split('.').slice(1, 3).join('.')).sort());
      // Without the store (a fresh SessionKeys) the cookie would pass: the store is what refuses it.
      expect(new SessionKeys('t').verify(a, now + 10)).toBeDefined();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
