/**
 * PACKET_FANOUT group ids. Groups are per network namespace and the kernel silently ADDS a socket to an
 * existing group when the settings match (same id, mode, interface, protocol): a second program on the
 * same id would take part of the traffic. So automatic ids come from a range reserved for them
 * (configuration refuses explicit ids there), and a candidate already in use on this host is skipped.
 *
 * Whether a group exists is asked of the kernel itself: a socket joins the id in another fanout mode
 * (CPU) than the probe uses (HASH). An existing group of any settings refuses it (EINVAL, mode or
 * interface differ); otherwise the socket created the group and closing it removes it again.
 *
 * That answer is old by the time the workers join: two probes starting together both find an id free
 * and both join it. So a probe first claims the id among rtpprobe processes, by listening on an abstract
 * unix socket named after it: a name is bound once per network namespace (the scope of fanout groups
 * too) and the kernel frees it when the process ends, however it ends.
 */
import { createServer, type Server } from 'node:net';
import { loadNativeAddon, type NativeOpenOptions } from '../../capture/live/native-addon.js';
import { AUTO_FANOUT_GROUPS } from '../../ops/config.js';

const AUTO_FANOUT_MIN = AUTO_FANOUT_GROUPS.min;
const AUTO_FANOUT_MAX = AUTO_FANOUT_GROUPS.max;
const AUTO_FANOUT_COUNT = AUTO_FANOUT_MAX - AUTO_FANOUT_MIN + 1;
/** Candidates tried before giving up (each try opens and closes a capture handle: ~1 ms). */
const MAX_TRIES = 64;
const PACKET_FANOUT_CPU = 2;

/** First candidate: from the process id, so probes started together rarely try the same ids. */
export function preferredAutoFanoutGroup(pid = process.pid): number {
  return AUTO_FANOUT_MIN + (pid % AUTO_FANOUT_COUNT);
}

/**
 * True when fanout group `id` exists in this network namespace (on any interface), false when it does
 * not, null when this could not be told (no addon, interface or permission problem: the real open then
 * reports that).
 */
export function fanoutGroupInUse(iface: string, id: number): boolean | null {
  const { addon } = loadNativeAddon();
  if (!addon) return null;
  const opts: NativeOpenOptions & { fanoutMode: number } = {
    device: iface,
    snaplen: 64,
    bufferSize: 65536,
    timeoutMs: 1000,
    promisc: false,
    filter: '',
    tstampType: '',
    fanoutGroup: id,
    fanoutMode: PACKET_FANOUT_CPU,
    buf: new Uint8Array(65536),
    offset: new Uint32Array(1),
    caplen: new Uint32Array(1),
    wirelen: new Uint32Array(1),
    tsSec: new Float64Array(1),
    tsNsec: new Uint32Array(1),
    onReadable: () => {},
  };
  try {
    addon.close(addon.open(opts));
    return false;
  } catch (err) {
    const e = err as { code?: string; message?: string };
    return e.code === 'EFANOUT' && /invalid argument/i.test(e.message ?? '') ? true : null;
  }
}

/** Claims held: referenced here so that no claim goes with its caller's last reference. */
const held = new Set<Server>();

/**
 * Claims automatic id `id` for this process among rtpprobe processes (see above): the listening socket,
 * held as long as the group is used (it keeps the process alive no longer than that), or null when
 * another process holds the claim.
 */
export function claimAutoFanoutGroup(id: number): Promise<Server | null> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (err: NodeJS.ErrnoException) => (err.code === 'EADDRINUSE' ? resolve(null) : reject(err)));
    server.listen({ path: `\0rtpprobe-fanout-group-${id}` }, () => {
      held.add(server.unref());
      server.once('close', () => held.delete(server));
      resolve(server);
    });
  });
}

/**
 * An automatic group id claimed by this process and not in use on this host: the preferred one, else the
 * next free in the range. `claim` is held as long as the group is used.
 */
export async function pickAutoFanoutGroup(iface: string, pid = process.pid, inUse = fanoutGroupInUse): Promise<{ group: number; skipped: number[]; claim: Server }> {
  const first = preferredAutoFanoutGroup(pid);
  const skipped: number[] = [];
  for (let i = 0; i < MAX_TRIES; i++) {
    const id = AUTO_FANOUT_MIN + ((first - AUTO_FANOUT_MIN + i) % AUTO_FANOUT_COUNT);
    const claim = await claimAutoFanoutGroup(id);
    if (claim !== null && inUse(iface, id) !== true) return { group: id, skipped, claim };
    claim?.close();
    skipped.push(id);
  }
  throw Object.assign(new Error(`no free PACKET_FANOUT group id: ${MAX_TRIES} automatic ids from ${first} are all in use on this host; set capture.fanout_group to a free id below ${AUTO_FANOUT_MIN}`), { code: 'EFANOUT' });
}

/**
 * A failed join explained: the kernel only says EINVAL (a group with this id exists with other
 * settings) or ENOSPC (the group is full).
 */
export function explainFanoutError(err: Error & { code?: string }, group: number, auto: boolean): Error {
  if (err.code !== 'EFANOUT') return err;
  const setting = auto ? `automatic fanout group ${group}` : `capture.fanout_group ${group}`;
  let why = '';
  if (/invalid argument/i.test(err.message)) {
    why = `${setting} is already used on this host by another socket with other settings (another program, interface or fanout mode): ${auto ? 'retry, or set capture.fanout_group' : 'choose another capture.fanout_group'} (1..${AUTO_FANOUT_MIN - 1}, or 0 for an automatic id)`;
  } else if (/no space/i.test(err.message)) {
    why = `${setting} is full (the kernel allows 256 sockets per group): fewer workers or another id`;
  }
  return why ? Object.assign(new Error(`${why} (${err.message})`), { code: err.code }) : err;
}
