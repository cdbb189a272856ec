/**
 * A container's user and groups, looked up in its image's own `/etc/passwd` and `/etc/group` as
 * containerd does (`WithUser`, `WithUserID`, `WithAdditionalGIDs`): a UID takes its primary group
 * from `/etc/passwd` (0 when the UID is not listed); a user name must be listed; the additional
 * groups are the primary group, every group of `/etc/group` naming the user as a member, then
 * the pod's `supplementalGroups`. Files are read inside the root file system: symlinks (absolute
 * ones included) resolve within it, never on the host.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** A resolved user. */
export interface ResolvedUser {
  uid: number;
  gid: number;
  additionalGids: number[];
}

/** Why a user cannot be resolved (the runtime's `CreateContainerError`). */
export class UserError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UserError';
  }
}

const MAX_LINKS = 40;

/**
 * `p` (absolute, inside the container) as a host path under `root`, with every symlink on the
 * way resolved inside `root` (as the container would see it). Missing components are kept.
 */
export function resolveInRoot(root: string, p: string): string {
  const parts = p.split('/').filter((x) => x !== '' && x !== '.');
  const done: string[] = [];
  let links = 0;
  while (parts.length > 0) {
    const part = parts.shift() ?? '';
    if (part === '..') {
      done.pop();
      continue;
    }
    const host = path.join(root, ...done, part);
    let target: string | undefined;
    try {
      if (fs.lstatSync(host).isSymbolicLink()) target = fs.readlinkSync(host);
    } catch {
      // missing: kept as it is
    }
    if (target === undefined) {
      done.push(part);
      continue;
    }
    if (++links > MAX_LINKS) throw new UserError(`too many levels of symbolic links in ${p}`);
    if (target.startsWith('/')) done.length = 0;
    parts.unshift(...target.split('/').filter((x) => x !== '' && x !== '.'));
  }
  return path.join(root, ...done);
}

/** Larger account files are refused (an image could ship anything there). */
const ACCOUNTS_MAX = 4 * 1024 * 1024;

function readLines(root: string, file: string): string[][] {
  let text: string;
  let fd: number | undefined;
  try {
    // Regular files only: a FIFO would block, a device never end. O_NOFOLLOW: the path is resolved.
    fd = fs.openSync(resolveInRoot(root, file), fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW | fs.constants.O_NONBLOCK);
    const st = fs.fstatSync(fd);
    if (!st.isFile()) throw new UserError(`${file} of the image is not a regular file`);
    if (st.size > ACCOUNTS_MAX) throw new UserError(`${file} of the image is larger than ${ACCOUNTS_MAX} bytes`);
    text = fs.readFileSync(fd, 'utf8');
  } catch (err) {
    if (err instanceof UserError) throw err;
    return [];
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
  return text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#')).map((l) => l.split(':'));
}

/**
 * Resolves `user` (a UID or a name) and `group` (a GID; absent: the user's primary group) in the
 * image at `root`, with the pod's `supplementalGroups`.
 */
export function resolveUser(root: string, user: { uid: number } | { name: string }, group: { gid: number } | { name: string } | undefined, supplementalGroups: readonly number[] = []): ResolvedUser {
  const passwd = readLines(root, '/etc/passwd');
  let uid: number;
  let gid: number;
  let name: string | undefined;
  if ('uid' in user) {
    uid = user.uid;
    const entry = passwd.find((f) => Number(f[2]) === uid && f[2] !== '');
    name = entry?.[0];
    gid = entry ? Number(entry[3] ?? 0) || 0 : 0;
  } else {
    const entry = passwd.find((f) => f[0] === user.name);
    if (!entry) throw new UserError(`unable to find user ${user.name}: no matching entries in passwd file`);
    name = user.name;
    uid = Number(entry[2] ?? NaN);
    gid = Number(entry[3] ?? NaN);
    if (!Number.isSafeInteger(uid) || !Number.isSafeInteger(gid)) throw new UserError(`passwd entry of ${user.name} is malformed`);
  }
  const groups = readLines(root, '/etc/group');
  if (group !== undefined) {
    if ('gid' in group) gid = group.gid;
    else {
      const entry = groups.find((f) => f[0] === group.name);
      if (!entry) throw new UserError(`unable to find group ${group.name}: no matching entries in group file`);
      gid = Number(entry[2] ?? NaN);
    }
  }
  const additional = [gid];
  if (name !== undefined) {
    for (const g of groups) {
      const members = (g[3] ?? '').split(',').map((m) => m.trim());
      const id = Number(g[2] ?? NaN);
      if (members.includes(name) && Number.isSafeInteger(id)) additional.push(id);
    }
  }
  additional.push(...supplementalGroups);
  return { uid, gid, additionalGids: [...new Set(additional)] };
}
