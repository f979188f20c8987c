/**
 * (ip, port) -> media binding. Keys live in an open-addressing hash over typed arrays (linear probing,
 * backward-shift deletion, no tombstones), so `find` allocates nothing and costs a few array reads.
 * Binding objects are created only when SDP binds media (rare); ids are slot numbers, reused after
 * retirement (the tracker announces retirement so holders can drop the id).
 */
import type { MediaDirection, PayloadFormat } from './sdp.js';

export interface MediaBinding {
  /** Slot id, what findBinding returns. */
  id: number;
  callIndex: number;
  /** The leg's own SIP Call-ID: the HEP correlation id. */
  callId: string;
  /** A-leg Call-ID of a B2BUA leg: X-CID (or configured header) value, or the `_b2b-N`-stripped id; '' if none. */
  aLegCallId: string;
  /** Raw X-CID (configured header) value seen on the call, '' if none. */
  xcid: string;
  /**
   * Call-ID of another leg whose SDP named one of this binding's addresses before this call took it
   * (B2BUA legs or a proxy re-using the SDP without X-CID), '' if none.
   */
  otherLegCallId: string;
  /** 0 = the party that sent the call's first seen message (normally the caller), 1 = the other party. */
  side: number;
  /** Index of the m= line in the SDP. */
  mediaIndex: number;
  /** m= media type ("audio", "video"); "audio" for a section on one address with an audio one (bundle.ts). */
  kind: string;
  /** Payload types of the bundled sections that are not audio on an address `kind` calls audio (bundle.ts carriesAudio). */
  nonAudioPayloads: ReadonlySet<number>;
  /** Address the SDP advertised (receive address of `side`), as words, and port. */
  ip: Uint32Array;
  port: number;
  /** RTCP receive address (a=rtcp address, else `ip`) and port (a=rtcp, port+1, or port with rtcp-mux). */
  rtcpIp: Uint32Array;
  rtcpPort: number;
  rtcpMux: boolean;
  /** The SDP's profile is secure (RTP/SAVP...): RTCP to this binding is SRTCP, never parsed as RTCP. */
  srtp: boolean;
  /** NAT: the SIP packet's source address, also bound with port/rtcpPort; null when not applied. */
  natIp: Uint32Array | null;
  /** Formats by payload type (a=rtpmap, else the static table): encoding name and clock rate. */
  payloads: Map<number, PayloadFormat>;
  /** a=ptime in ms, 0 when absent. */
  ptime: number;
  direction: MediaDirection;
  /** True when the last SDP put this media on hold (sendonly/inactive or c=0.0.0.0). */
  onHold: boolean;
  /**
   * True when the other side's latest SDP for this m-line holds it or makes it one way (on hold, or not
   * sendrecv: an RFC 2543 hold answered sendrecv leaves this side's own SDP sendrecv): the media session
   * of this address is not flowing both ways by intent.
   */
  peerHeld: boolean;
  /** Capture time (ms) of the latest SDP that took this m-line off hold (either side's), 0 when none. */
  resumedMs: number;
  /** User-Agent (or Server) of the party that sent this SDP. */
  userAgent: string;
  /** Capture time (ms) when bound and last updated by SDP. */
  createdMs: number;
  updatedMs: number;
  /** Capture time (ms) when a retired binding stops correlating; 0 while live, -1 once gone. */
  retireAtMs: number;
  /** Why it is retiring (meaningful when retireAtMs > 0). */
  retireReason: 'moved' | 'rejected' | 'call-end';
}

const KEY_WORDS = 5; // ip0..ip3, port

export class BindingTable {
  readonly capacity: number;
  private readonly mask: number;
  private readonly keys: Int32Array;
  /** Per hash slot: binding id * 2 + 1 when the key is an RTCP address, -1 = empty. */
  private readonly values: Int32Array;
  private readonly bindings: Array<MediaBinding | null>;
  private readonly freeIds: Int32Array;
  private freeTop: number;
  size = 0;
  keyCount = 0;

  constructor(maxBindings: number) {
    this.capacity = Math.max(1, maxBindings | 0);
    // Up to 4 keys per binding (RTP, RTCP, NAT RTP, NAT RTCP): at least 5 slots per binding keeps the
    // load <= 0.8 with every binding at 4 keys (the probe loop always meets an empty slot); a typical
    // binding has 2 keys (<= 0.4).
    let slots = 16;
    while (slots < this.capacity * 5) slots *= 2;
    this.mask = slots - 1;
    this.keys = new Int32Array(slots * KEY_WORDS);
    this.values = new Int32Array(slots).fill(-1);
    this.bindings = new Array<MediaBinding | null>(this.capacity).fill(null);
    this.freeIds = new Int32Array(this.capacity);
    for (let i = 0; i < this.capacity; i++) this.freeIds[i] = this.capacity - 1 - i;
    this.freeTop = this.capacity;
  }

  private hash(a: number, b: number, c: number, d: number, port: number): number {
    let h = Math.imul(a ^ 0x9e3779b9, 0x85ebca6b);
    h = Math.imul(h ^ b ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ c ^ (h >>> 16), 0x85ebca6b);
    h = Math.imul(h ^ d ^ (h >>> 13), 0xc2b2ae35);
    h = Math.imul(h ^ port ^ (h >>> 16), 0x27d4eb2f);
    return (h ^ (h >>> 15)) & this.mask;
  }

  private slotOf(a: number, b: number, c: number, d: number, port: number): number {
    let s = this.hash(a, b, c, d, port);
    const k = this.keys;
    for (;;) {
      if (this.values[s] < 0) return -1 - s; // empty: where it would go
      const o = s * KEY_WORDS;
      if (k[o] === (a | 0) && k[o + 1] === (b | 0) && k[o + 2] === (c | 0) && k[o + 3] === (d | 0) && k[o + 4] === port) return s;
      s = (s + 1) & this.mask;
    }
  }

  /** Binding id for the address, -1 when none. Allocation-free. */
  find(a: number, b: number, c: number, d: number, port: number): number {
    const s = this.slotOf(a, b, c, d, port);
    return s < 0 ? -1 : this.values[s] >> 1;
  }

  /** True when the address is bound as an RTCP address (a=rtcp, port+1), false for RTP or unbound. */
  isRtcpKey(a: number, b: number, c: number, d: number, port: number): boolean {
    const s = this.slotOf(a, b, c, d, port);
    return s >= 0 && (this.values[s] & 1) === 1;
  }

  get(id: number): MediaBinding | null {
    return id >= 0 && id < this.capacity ? this.bindings[id] : null;
  }

  /** Holds a new binding, giving it its id (b.id); null when the table is full. */
  add(b: MediaBinding): MediaBinding | null {
    if (this.freeTop === 0) return null;
    const id = this.freeIds[--this.freeTop];
    b.id = id;
    this.bindings[id] = b;
    this.size++;
    return b;
  }

  /**
   * Points the key at `id`; returns the id it pointed at before (-1 if new). An RTCP key never takes
   * an address another binding holds as RTP (RTCP's port+1 is a guess; an m= port is not): then it
   * returns -2 and changes nothing.
   */
  setKey(ip: Uint32Array, port: number, id: number, rtcp = false): number {
    const s = this.slotOf(ip[0], ip[1], ip[2], ip[3], port);
    const v = id * 2 + (rtcp ? 1 : 0);
    if (s >= 0) {
      const old = this.values[s];
      if (rtcp && (old & 1) === 0 && old >> 1 !== id) return -2;
      this.values[s] = v;
      return old >> 1;
    }
    const e = -1 - s;
    const o = e * KEY_WORDS;
    this.keys[o] = ip[0];
    this.keys[o + 1] = ip[1];
    this.keys[o + 2] = ip[2];
    this.keys[o + 3] = ip[3];
    this.keys[o + 4] = port;
    this.values[e] = v;
    this.keyCount++;
    return -1;
  }

  /** Removes the key only if it still points at `id` (another binding may have taken it over). */
  removeKey(ip: Uint32Array, port: number, id: number): void {
    let s = this.slotOf(ip[0], ip[1], ip[2], ip[3], port);
    if (s < 0 || this.values[s] >> 1 !== id) return;
    this.keyCount--;
    // Backward-shift deletion keeps every probe chain intact without tombstones.
    const k = this.keys;
    let j = s;
    for (;;) {
      this.values[s] = -1;
      for (;;) {
        j = (j + 1) & this.mask;
        if (this.values[j] < 0) return;
        const o = j * KEY_WORDS;
        const home = this.hash(k[o], k[o + 1], k[o + 2], k[o + 3], k[o + 4]);
        // Move j into the hole s unless its home lies cyclically in (s, j].
        if (s <= j ? s < home && home <= j : s < home || home <= j) continue;
        break;
      }
      k.copyWithin(s * KEY_WORDS, j * KEY_WORDS, j * KEY_WORDS + KEY_WORDS);
      this.values[s] = this.values[j];
      s = j;
    }
  }

  /** Frees the id; the caller removes the keys first. */
  release(id: number): void {
    if (this.bindings[id] === null) return;
    this.bindings[id] = null;
    this.freeIds[this.freeTop++] = id;
    this.size--;
  }
}
