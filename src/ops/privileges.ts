/**
 * Capture needs CAP_NET_RAW (and CAP_NET_ADMIN for some interface settings); nothing after that does.
 * These helpers report what the process holds and switch to an unprivileged user once capture is open.
 */
import { readFileSync } from 'node:fs';
import type { Logger } from 'pino';

export const CAP_NET_ADMIN = 12;
export const CAP_NET_RAW = 13;

/** The CapEff mask from /proc/<pid>/status text; 0n when absent (non-Linux). */
export function parseCapEff(statusText: string): bigint {
  const m = /^CapEff:\s*([0-9a-fA-F]+)\s*$/m.exec(statusText);
  return m ? BigInt(`0x${m[1]}`) : 0n;
}

export function hasCapability(mask: bigint, cap: number): boolean {
  return ((mask >> BigInt(cap)) & 1n) === 1n;
}

export interface CaptureCapabilities {
  root: boolean;
  netRaw: boolean;
  netAdmin: boolean;
  /** Raw CapEff hex, or '' when /proc is not available. */
  capEff: string;
}

export function captureCapabilities(statusPath = '/proc/self/status'): CaptureCapabilities {
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  let text = '';
  try {
    text = readFileSync(statusPath, 'utf8');
  } catch {
    // Not Linux: only root-ness can be told.
    return { root, netRaw: root, netAdmin: root, capEff: '' };
  }
  const mask = parseCapEff(text);
  return {
    root,
    netRaw: hasCapability(mask, CAP_NET_RAW),
    netAdmin: hasCapability(mask, CAP_NET_ADMIN),
    capEff: /^CapEff:\s*([0-9a-fA-F]+)/m.exec(text)?.[1] ?? '',
  };
}

/** Log what capture will be able to do; returns false when live capture will certainly fail. */
export function checkCaptureCapabilities(log: Logger, caps = captureCapabilities()): boolean {
  if (caps.netRaw) {
    log.debug({ capEff: caps.capEff, root: caps.root, netAdmin: caps.netAdmin }, 'capture capabilities present');
    return true;
  }
  log.warn(
    { capEff: caps.capEff, root: caps.root },
    'CAP_NET_RAW is missing: live capture will fail. Run as root, `setcap cap_net_raw,cap_net_admin+eip` on the node binary, ' +
      'AmbientCapabilities=CAP_NET_RAW CAP_NET_ADMIN in systemd, or --cap-add NET_RAW --cap-add NET_ADMIN in Docker',
  );
  return false;
}

export class PrivilegeError extends Error {
  override name = 'PrivilegeError';
}

export interface UserEntry {
  name: string;
  uid: number;
  gid: number;
}

/** Look a user up in /etc/passwd (name or numeric uid). NSS sources (LDAP) are not read. */
export function lookupUser(user: string, passwdPath = '/etc/passwd'): UserEntry | undefined {
  let text = '';
  try {
    text = readFileSync(passwdPath, 'utf8');
  } catch {
    return undefined;
  }
  const numeric = /^\d+$/.test(user) ? Number(user) : undefined;
  for (const line of text.split('\n')) {
    const f = line.split(':');
    if (f.length < 4) continue;
    const uid = Number(f[2]);
    if (f[0] === user || uid === numeric) return { name: f[0]!, uid, gid: Number(f[3]) };
  }
  return undefined;
}

/**
 * Switch to `user` (its primary group, its supplementary groups). Call after the capture handle is open:
 * the open socket keeps working, the capabilities go. '' = stay. Throws PrivilegeError with a message an
 * operator can act on.
 */
export function dropPrivileges(user: string, log?: Logger): UserEntry | undefined {
  if (user === '') return undefined;
  if (typeof process.setuid !== 'function' || typeof process.getuid !== 'function') {
    throw new PrivilegeError(`process.user is ${JSON.stringify(user)} but this platform cannot switch users`);
  }
  const entry = lookupUser(user);
  if (!entry) {
    throw new PrivilegeError(
      `process.user: ${JSON.stringify(user)} does not exist on this host (create it, e.g. \`useradd --system --no-create-home rtpprobe\`, or set process.user to "")`,
    );
  }
  if (process.getuid() === entry.uid) {
    log?.debug({ user: entry.name }, 'already running as process.user');
    return entry;
  }
  if (process.getuid() !== 0) {
    throw new PrivilegeError(
      `process.user: cannot switch to ${JSON.stringify(user)}: the probe runs as uid ${process.getuid()}, only root can switch users (leave process.user empty when starting unprivileged with capabilities)`,
    );
  }
  try {
    // initgroups exists on POSIX Node but is missing from @types/node 20.
    (process as unknown as { initgroups(user: string, group: number): void }).initgroups(entry.name, entry.gid);
    process.setgid!(entry.gid);
    process.setuid(entry.uid);
  } catch (err) {
    throw new PrivilegeError(`process.user: switching to ${JSON.stringify(user)} failed: ${(err as Error).message}`);
  }
  log?.info({ user: entry.name, uid: entry.uid, gid: entry.gid }, 'dropped root privileges');
  return entry;
}
