import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * The capture interface's link as the kernel reports it: `admin-down` (`ip link set IF down`: no IFF_UP),
 * `no-carrier` (up but the link is down: cable, peer, SPAN session), `up`, `absent` (no such interface in
 * this network namespace) or `unknown` (no sysfs to ask: not Linux).
 */
export type LinkState = 'up' | 'admin-down' | 'no-carrier' | 'absent' | 'unknown';

const IFF_UP = 0x1;
/** Kernel operstates (RFC 2863) of an interface up whose link is not. */
const LINK_DOWN = new Set(['down', 'lowerlayerdown', 'notpresent']);

/**
 * Reads two small sysfs files, cheap enough for a once-a-second tick. Packet sockets say nothing when their
 * interface goes down (the kernel just stops feeding them and resumes when it is up again), so the link is
 * asked, not the capture.
 */
export function readLinkState(iface: string, sysfs = '/sys/class/net'): LinkState {
  if (iface === '' || iface.includes('/') || iface === '.' || iface === '..') return 'unknown';
  const dir = join(sysfs, iface);
  let flags: number;
  let oper: string;
  try {
    flags = Number.parseInt(readFileSync(join(dir, 'flags'), 'latin1'), 16);
    oper = readFileSync(join(dir, 'operstate'), 'latin1').trim();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return existsSync(sysfs) ? 'absent' : 'unknown';
    return 'unknown';
  }
  if (!Number.isFinite(flags)) return 'unknown';
  if ((flags & IFF_UP) === 0) return 'admin-down';
  return LINK_DOWN.has(oper) ? 'no-carrier' : 'up';
}
