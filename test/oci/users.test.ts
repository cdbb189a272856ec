/**
 * Users and groups looked up in an image's own files, as containerd does, with symlinks
 * resolved inside the image's root (never on the host).
 */
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { resolveInRoot, resolveUser } from '../../src/runtime/oci/users.js';

describe('users and groups of an image', () => {
  let root: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'podvisor-users-'));
    mkdirSync(join(root, 'usr', 'share', 'base'), { recursive: true });
    mkdirSync(join(root, 'etc'));
    writeFileSync(join(root, 'usr', 'share', 'base', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\n# comment\napp:x:1000:1000::/home/app:/bin/sh\nweb:x:33:33::/var/www:/bin/sh\n');
    // An absolute symlink, as some images have: it must resolve inside the image.
    symlinkSync('/usr/share/base/passwd', join(root, 'etc', 'passwd'));
    writeFileSync(join(root, 'etc', 'group'), 'root:x:0:\napp:x:1000:\nvideo:x:44:app,web\naudio:x:29:web\nstaff:x:50:\n');
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('resolves paths through absolute and relative symlinks inside the root', () => {
    expect(resolveInRoot(root, '/etc/passwd')).toBe(join(root, 'usr', 'share', 'base', 'passwd'));
    symlinkSync('../../..', join(root, 'usr', 'share', 'up'));
    expect(resolveInRoot(root, '/usr/share/up/../etc/group')).toBe(join(root, 'etc', 'group'));
    symlinkSync('/', join(root, 'escape'));
    expect(resolveInRoot(root, '/escape/../../../etc/shadow')).toBe(join(root, 'etc', 'shadow'));
  });

  it('a UID takes its primary group and memberships; an unknown UID runs with group 0', () => {
    expect(resolveUser(root, { uid: 1000 }, undefined)).toEqual({ uid: 1000, gid: 1000, additionalGids: [1000, 44] });
    expect(resolveUser(root, { uid: 4242 }, undefined)).toEqual({ uid: 4242, gid: 0, additionalGids: [0] });
    expect(resolveUser(root, { uid: 0 }, undefined, [7, 0])).toEqual({ uid: 0, gid: 0, additionalGids: [0, 7] });
  });

  it('a name must exist; runAsGroup and group names; supplementalGroups come last', () => {
    expect(resolveUser(root, { name: 'web' }, undefined, [5000])).toEqual({ uid: 33, gid: 33, additionalGids: [33, 44, 29, 5000] });
    expect(resolveUser(root, { name: 'app' }, { gid: 7 })).toEqual({ uid: 1000, gid: 7, additionalGids: [7, 44] });
    expect(resolveUser(root, { name: 'app' }, { name: 'staff' })).toEqual({ uid: 1000, gid: 50, additionalGids: [50, 44] });
    expect(() => resolveUser(root, { name: 'nobody' }, undefined)).toThrow('unable to find user nobody: no matching entries in passwd file');
    expect(() => resolveUser(root, { name: 'app' }, { name: 'wheel' })).toThrow('unable to find group wheel');
  });
});
