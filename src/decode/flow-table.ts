import type { DecodedPacket } from './packet.js';

const KEY_WORDS = 10; // proto, src 4 words, dst 4 words, ports
const EMPTY_SLOT = -1;

/**
 * Per 5-tuple counters in typed arrays with an open-addressing index, so counting a packet allocates
 * nothing. The table doubles (rare, allocating) when half full. Direction matters: a->b and b->a are two flows.
 */
export class FlowTable {
  size = 0;
  keys: Uint32Array;
  packets: Float64Array;
  bytes: Float64Array;
  firstSec: Float64Array;
  firstNsec: Uint32Array;
  lastSec: Float64Array;
  lastNsec: Uint32Array;
  private index: Int32Array;
  private capacity: number;

  constructor(initialCapacity = 1024) {
    this.capacity = initialCapacity;
    this.keys = new Uint32Array(initialCapacity * KEY_WORDS);
    this.packets = new Float64Array(initialCapacity);
    this.bytes = new Float64Array(initialCapacity);
    this.firstSec = new Float64Array(initialCapacity);
    this.firstNsec = new Uint32Array(initialCapacity);
    this.lastSec = new Float64Array(initialCapacity);
    this.lastNsec = new Uint32Array(initialCapacity);
    this.index = new Int32Array(initialCapacity * 2).fill(EMPTY_SLOT);
  }

  /** Counts one decoded UDP/TCP packet of `bytes` bytes on the wire. */
  add(p: DecodedPacket, bytes: number): void {
    const ports = ((p.srcPort << 16) | p.dstPort) >>> 0;
    const h = flowHash(p.ipProto, p.src0, p.src1, p.src2, p.src3, p.dst0, p.dst1, p.dst2, p.dst3, ports);
    const mask = this.index.length - 1;
    let at = h & mask;
    const k = this.keys;
    for (;;) {
      const slot = this.index[at];
      if (slot === EMPTY_SLOT) break;
      const b = slot * KEY_WORDS;
      if (k[b] === p.ipProto && k[b + 1] === p.src0 && k[b + 2] === p.src1 && k[b + 3] === p.src2 && k[b + 4] === p.src3 &&
        k[b + 5] === p.dst0 && k[b + 6] === p.dst1 && k[b + 7] === p.dst2 && k[b + 8] === p.dst3 && k[b + 9] === ports) {
        this.packets[slot]++;
        this.bytes[slot] += bytes;
        this.lastSec[slot] = p.tsSec;
        this.lastNsec[slot] = p.tsNsec;
        return;
      }
      at = (at + 1) & mask;
    }
    if (this.size === this.capacity) {
      this.grow();
      this.add(p, bytes);
      return;
    }
    const slot = this.size++;
    const b = slot * KEY_WORDS;
    k[b] = p.ipProto;
    k[b + 1] = p.src0; k[b + 2] = p.src1; k[b + 3] = p.src2; k[b + 4] = p.src3;
    k[b + 5] = p.dst0; k[b + 6] = p.dst1; k[b + 7] = p.dst2; k[b + 8] = p.dst3;
    k[b + 9] = ports;
    this.index[at] = slot;
    this.packets[slot] = 1;
    this.bytes[slot] = bytes;
    this.firstSec[slot] = p.tsSec;
    this.firstNsec[slot] = p.tsNsec;
    this.lastSec[slot] = p.tsSec;
    this.lastNsec[slot] = p.tsNsec;
  }

  private grow(): void {
    const old = this;
    const bigger = new FlowTable(this.capacity * 2);
    bigger.keys.set(old.keys);
    bigger.packets.set(old.packets);
    bigger.bytes.set(old.bytes);
    bigger.firstSec.set(old.firstSec);
    bigger.firstNsec.set(old.firstNsec);
    bigger.lastSec.set(old.lastSec);
    bigger.lastNsec.set(old.lastNsec);
    const mask = bigger.index.length - 1;
    for (let slot = 0; slot < this.size; slot++) {
      const b = slot * KEY_WORDS;
      const k = old.keys;
      const h = flowHash(k[b], k[b + 1], k[b + 2], k[b + 3], k[b + 4], k[b + 5], k[b + 6], k[b + 7], k[b + 8], k[b + 9]);
      let at = h & mask;
      while (bigger.index[at] !== EMPTY_SLOT) at = (at + 1) & mask;
      bigger.index[at] = slot;
    }
    this.capacity = bigger.capacity;
    this.keys = bigger.keys;
    this.packets = bigger.packets;
    this.bytes = bigger.bytes;
    this.firstSec = bigger.firstSec;
    this.firstNsec = bigger.firstNsec;
    this.lastSec = bigger.lastSec;
    this.lastNsec = bigger.lastNsec;
    this.index = bigger.index;
  }
}

function flowHash(proto: number, s0: number, s1: number, s2: number, s3: number, d0: number, d1: number, d2: number, d3: number, ports: number): number {
  const h = Math.imul(proto ^ s3, 0x9e3779b1) ^ Math.imul(d3 ^ s2, 0x85ebca6b) ^ Math.imul(ports ^ s0 ^ d0, 0xc2b2ae35) ^ Math.imul(s1 ^ d1 ^ d2, 0x27d4eb2f);
  return h ^ (h >>> 15);
}
