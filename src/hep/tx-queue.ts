import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import { writeIpv4, writeIpv6 } from './ip.js';

/**
 * The bytes a TCP socket's peer has not acknowledged, as Linux shows them: the `tx_queue` column of
 * /proc/net/tcp and /proc/net/tcp6 (the kernel's write_seq - snd_una: written to the socket and not yet
 * acknowledged, sent or not). Node.js offers neither SIOCOUTQ nor TCP_USER_TIMEOUT; this is how a HEP
 * connection tells a collector that acknowledges from a blackhole that takes everything into the kernel.
 */

/** A connection's line in the table: its file and `local_address rem_address` as the kernel prints them. */
export interface TcpLineKey {
  file: '/proc/net/tcp' | '/proc/net/tcp6';
  text: string;
}

const littleEndian = os.endianness() === 'LE';

/** The line key of a connected socket; undefined when its addresses are not known (yet). */
export function tcpLineKey(s: net.Socket): TcpLineKey | undefined {
  const { localAddress, localPort, remoteAddress, remotePort } = s;
  if (localAddress === undefined || localPort === undefined || remoteAddress === undefined || remotePort === undefined) return undefined;
  const v4 = net.isIPv4(remoteAddress);
  const local = procAddress(localAddress, v4);
  const remote = procAddress(remoteAddress, v4);
  if (local === undefined || remote === undefined) return undefined;
  return { file: v4 ? '/proc/net/tcp' : '/proc/net/tcp6', text: `${local}:${hexPort(localPort)} ${remote}:${hexPort(remotePort)}` };
}

const hexPort = (p: number): string => p.toString(16).toUpperCase().padStart(4, '0');

/** The kernel prints an address as 32-bit words in host byte order, each as %08X. */
function procAddress(a: string, v4: boolean): string | undefined {
  const b = new Uint8Array(v4 ? 4 : 16);
  if (!(v4 ? writeIpv4(a, b, 0) : writeIpv6(a, b, 0))) return undefined;
  let out = '';
  for (let w = 0; w < b.length; w += 4) {
    const bytes = littleEndian ? [b[w + 3]!, b[w + 2]!, b[w + 1]!, b[w]!] : [b[w]!, b[w + 1]!, b[w + 2]!, b[w + 3]!];
    for (const x of bytes) out += x.toString(16).toUpperCase().padStart(2, '0');
  }
  return out;
}

/**
 * More bytes than a connection can hold unacknowledged: twice the send buffer's autotuning cap (the third
 * field of net.ipv4.tcp_wmem; the kernel lets one buffer overshoot it a little). A message followed by
 * more than this many bytes the kernel took was acknowledged, without a reading (TLS too: the ciphertext
 * after a message is never shorter than the plaintext). 64 MB where the setting cannot be read.
 */
export function unackedBytesBound(): number {
  if (bound === undefined) {
    try {
      const max = Number(fs.readFileSync('/proc/sys/net/ipv4/tcp_wmem', 'latin1').trim().split(/\s+/)[2]);
      bound = Number.isFinite(max) && max > 0 ? 2 * max : DEFAULT_BOUND;
    } catch {
      bound = DEFAULT_BOUND;
    }
  }
  return bound;
}
const DEFAULT_BOUND = 64 << 20;
let bound: number | undefined;

/** TIME_WAIT: an earlier connection on the same addresses and ports, not the live one. */
const TCP_TIME_WAIT = '06';

/** One reading of the tables, each file read at most once however many connections look in it. */
export class TcpTables {
  private readonly texts = new Map<string, string | Error>();

  /**
   * The connection's unacknowledged bytes; undefined when no such connection is listed (another network
   * namespace), an Error when the table cannot be read (not Linux, /proc not mounted or hidden).
   */
  txQueue(key: TcpLineKey): number | undefined | Error {
    const text = this.read(key.file);
    if (text instanceof Error) return text;
    const needle = `${key.text} `;
    for (let at = text.indexOf(needle); at >= 0; at = text.indexOf(needle, at + 1)) {
      // local rem st tx_queue:rx_queue
      const st = at + needle.length;
      if (text.slice(st, st + 2) === TCP_TIME_WAIT) continue;
      const tx = parseInt(text.slice(st + 3, st + 11), 16);
      return Number.isFinite(tx) ? tx : undefined;
    }
    return undefined;
  }

  private read(file: string): string | Error {
    let t = this.texts.get(file);
    if (t === undefined) {
      try {
        t = fs.readFileSync(file, 'latin1');
      } catch (err) {
        t = err as Error;
      }
      this.texts.set(file, t);
    }
    return t;
  }
}

/** A connection with data its peer has not acknowledged. */
export interface AckWatcher {
  /** A fresh reading of the tables. */
  onTcpTables(tables: TcpTables): void;
  /** Something waits for the acknowledgements (a replay's end, a stop): read soon, not in a second. */
  awaitsAcks(): boolean;
}

/** Once a second, or every 20 ms while something waits for the acknowledgements. */
const POLL_MS = 1000;
const FAST_POLL_MS = 20;

/**
 * One timer and one reading of the tables for every connection with unacknowledged data, and none while
 * there is none: the per-message path only adds a connection to the set.
 */
class AckPoller {
  private readonly watched = new Set<AckWatcher>();
  private timer: NodeJS.Timeout | undefined;
  private fast = false;
  private readonly tickBound = (): void => this.tick();

  watch(w: AckWatcher): void {
    if (this.watched.has(w) && this.timer !== undefined && (this.fast || !w.awaitsAcks())) return;
    this.watched.add(w);
    this.arm();
  }

  unwatch(w: AckWatcher): void {
    this.watched.delete(w);
    if (this.watched.size === 0 && this.timer !== undefined) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
  }

  private arm(): void {
    let fast = false;
    for (const w of this.watched) if (w.awaitsAcks()) fast = true;
    if (this.timer !== undefined) {
      if (this.fast || !fast) return;
      clearTimeout(this.timer);
    }
    this.fast = fast;
    this.timer = setTimeout(this.tickBound, fast ? FAST_POLL_MS : POLL_MS);
    this.timer.unref();
  }

  private tick(): void {
    this.timer = undefined;
    const tables = new TcpTables();
    for (const w of [...this.watched]) w.onTcpTables(tables);
    if (this.watched.size > 0) this.arm();
  }
}

export const ackPoller = new AckPoller();
