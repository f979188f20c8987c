/**
 * Watches the capture interface's link for an operator: a packet socket stays silent when its interface goes
 * down (`ip link set IF down`, carrier lost) and simply resumes when it comes back, so the link itself is
 * read at the probe's once-a-second tick. Logs once when it goes down and once when it is up again (with
 * how long it was down); /healthz and rtpprobe_capture_interface_up read view(). Also opens a capture whose
 * interface is down at start once it comes up (openWhenUp), instead of exiting.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { LinkState } from '../capture/live/link-state.js';

export interface LinkView {
  interface: string;
  state: LinkState;
  /** admin-down or no-carrier: nothing can be captured. */
  down: boolean;
  /** How long it has been down, s (0 while not down). */
  downS: number;
}

export interface LinkLog {
  warn(obj: object, msg: string): void;
  info(obj: object, msg: string): void;
}

const isDown = (s: LinkState): boolean => s === 'admin-down' || s === 'no-carrier';

function reason(state: LinkState, iface: string): string {
  return state === 'admin-down' ? `administratively down (ip link set ${iface} up brings it back)` : 'no carrier (cable, switch port, mirror session or veth peer down)';
}

export class LinkWatch {
  private state: LinkState = 'unknown';
  private downSinceMs = 0;

  constructor(
    readonly iface: string,
    private readonly log: LinkLog,
    private readonly read: (iface: string) => LinkState,
  ) {}

  /** Reads the link now; logs a change between down and up. `atStart`: the capture is not open yet. */
  poll(nowMs = Date.now(), atStart = false): LinkState {
    const next = this.read(this.iface);
    const wasDown = isDown(this.state);
    if (isDown(next) && !wasDown) {
      this.downSinceMs = nowMs;
      const msg = atStart ? 'capture interface down at start: the capture opens when it comes up' : 'capture interface down: nothing is captured until it comes back up';
      this.log.warn({ interface: this.iface, reason: reason(next, this.iface) }, msg);
    } else if (next === 'up' && wasDown) {
      this.log.info({ interface: this.iface, downS: Math.round((nowMs - this.downSinceMs) / 100) / 10 }, 'capture interface up again');
    }
    // Gone altogether (deleted while down): the capture loop reports that as a lost capture.
    if (!isDown(next)) this.downSinceMs = 0;
    this.state = next;
    return next;
  }

  get down(): boolean {
    return isDown(this.state);
  }

  view(nowMs = Date.now()): LinkView {
    const down = this.down;
    return { interface: this.iface, state: this.state, down, downS: down ? Math.round((nowMs - this.downSinceMs) / 1000) : 0 };
  }
}

/**
 * Opens the capture once its interface is up: an appliance started before its mirror port waits for it
 * (logged once, /healthz 503 meanwhile) rather than exiting. Any other open error (unknown interface,
 * missing privilege) is thrown as it is. `open` refusing with ENETDOWN while the link reads otherwise (it
 * went down again, or there is no sysfs to read) is retried every `pollMs`.
 */
export async function openWhenUp<T>(open: () => Promise<T>, link: LinkWatch, log: LinkLog, pollMs = 1000): Promise<T> {
  let refusedLogged = false;
  for (;;) {
    while (isDown(link.poll(Date.now(), true))) await sleep(pollMs);
    try {
      return await open();
    } catch (err) {
      if ((err as { code?: string }).code !== 'ENETDOWN') throw err;
      if (!refusedLogged) log.warn({ interface: link.iface, reason: (err as Error).message }, 'capture interface down at start: the capture opens when it comes up');
      refusedLogged = true;
      await sleep(pollMs);
    }
  }
}
