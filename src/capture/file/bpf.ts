/**
 * Classic BPF for capture files: libpcap compiles the expression (the native addon's compileFilter, the
 * same compiler tcpdump -r uses, so `rtpprobe replay f.pcap 'host 10.0.0.1'` keeps exactly the packets
 * `tcpdump -r f.pcap 'host 10.0.0.1'` prints) and this module runs the program over each record. A
 * program is compiled once per link type the capture holds (a pcapng file may mix them).
 */
import { loadNativeAddon } from '../live/native-addon.js';

/** A filter expression that does not compile: its text and libpcap's reason. Exit code 2. */
export class FilterError extends Error {
  override readonly name = 'FilterError';
  readonly exitCode = 2;
  constructor(
    readonly expression: string,
    readonly reason: string,
    /** True when no compiler was available (native addon missing): the expression may well be fine. */
    readonly unchecked = false,
  ) {
    super(`capture filter ${JSON.stringify(expression)}: ${reason}`);
  }
}

/** One compiled program: per instruction, word 2i = code | jt << 16 | jf << 24, word 2i + 1 = k. */
export type BpfProgram = Uint32Array;

/** Link type of Ethernet captures: what check-config compiles a live filter for. */
export const LINKTYPE_ETHERNET = 1;
const SNAPLEN = 262144;
/**
 * Files carry LINKTYPE_ values, libpcap's compiler takes DLT_ values; they differ for raw IP, which files
 * store as LINKTYPE_RAW (101: tcpdump on a tun or WireGuard interface) and Linux numbers DLT_RAW (12).
 * libpcap's savefile reader maps it the same way before tcpdump -r compiles a filter.
 */
const LINKTYPE_RAW = 101;
const DLT_RAW = 12;

/** Compiles `expression` for `linkType` with libpcap; throws FilterError (bad expression, or no addon). */
export function compileBpf(expression: string, linkType = LINKTYPE_ETHERNET): BpfProgram {
  const { addon, error } = loadNativeAddon();
  const compile = (addon as { compileFilter?: (l: number, s: number, e: string) => Uint32Array } | null)?.compileFilter;
  if (!compile) {
    throw new FilterError(expression, `filtering capture files needs the native capture addon with libpcap (${error ?? 'this build of it has no compileFilter: run `npm run build:native`'})`, true);
  }
  try {
    return compile(linkType === LINKTYPE_RAW ? DLT_RAW : linkType, SNAPLEN, expression);
  } catch (err) {
    throw new FilterError(expression, (err as Error).message);
  }
}

/** Records of one link type the expression cannot be compiled for: libpcap's reason, and how many were skipped. */
export interface InapplicableLinkType {
  reason: string;
  records: number;
}

/**
 * A filter over capture records: `matches` is called once per record, from the replay's hot loop. Records
 * of a link type the expression cannot be compiled for (`vlan` on a Linux cooked interface of a pcapng
 * file) do not pass, as a display filter drops packets that cannot have the field it names; they are
 * counted in `inapplicable`, and the rest of the capture is filtered as usual.
 */
export class PacketFilter {
  /** Records the filter did not pass, those of an inapplicable link type included. */
  rejected = 0;
  /** Per link type the expression cannot be compiled for: libpcap's reason and the records skipped. */
  readonly inapplicable = new Map<number, InapplicableLinkType>();
  /** Per link type its program, or its entry in `inapplicable`. */
  private readonly programs = new Map<number, BpfProgram | InapplicableLinkType>();
  private lastLink = -1;
  private prog: BpfProgram = new Uint32Array(0);
  /** The current link type's entry in `inapplicable`, null while its program runs. */
  private skipping: InapplicableLinkType | null = null;
  private readonly mem = new Int32Array(16);

  constructor(readonly expression: string) {
    // Compiled once up front for Ethernet, so a bad expression fails before anything is read.
    this.programs.set(LINKTYPE_ETHERNET, compileBpf(expression, LINKTYPE_ETHERNET));
  }

  /** True when the packet data[off .. off + caplen) (wirelen on the wire) passes the filter. */
  matches(data: Uint8Array, off: number, caplen: number, wirelen: number, linkType: number): boolean {
    if (linkType !== this.lastLink) this.select(linkType);
    const skip = this.skipping;
    if (skip === null) {
      if (runBpf(this.prog, this.mem, data, off, caplen, wirelen) !== 0) return true;
    } else skip.records++;
    this.rejected++;
    return false;
  }

  private select(linkType: number): void {
    let p = this.programs.get(linkType);
    if (p === undefined) {
      try {
        p = compileBpf(this.expression, linkType);
      } catch (err) {
        if (!(err instanceof FilterError)) throw err;
        p = { reason: err.reason, records: 0 };
        this.inapplicable.set(linkType, p);
      }
      this.programs.set(linkType, p);
    }
    if (p instanceof Uint32Array) {
      this.prog = p;
      this.skipping = null;
    } else this.skipping = p;
    this.lastLink = linkType;
  }
}

// Instruction classes, sizes, modes and operations (bpf.h).
const LD = 0x00, LDX = 0x01, ST = 0x02, STX = 0x03, ALU = 0x04, JMP = 0x05, RET = 0x06;
const W = 0x00, H = 0x08, B = 0x10;
const IMM = 0x00, ABS = 0x20, IND = 0x40, MEM = 0x60, LEN = 0x80, MSH = 0xa0;
const SRC_X = 0x08;

/**
 * Runs `prog` over one packet; returns the program's return value (0 = reject). A load past the captured
 * bytes rejects, as in the kernel and libpcap's bpf_filter.
 */
export function runBpf(prog: BpfProgram, mem: Int32Array, d: Uint8Array, off: number, caplen: number, wirelen: number): number {
  let a = 0;
  let x = 0;
  const n = prog.length >>> 1;
  for (let pc = 0; pc < n; pc++) {
    const w = prog[2 * pc];
    const k = prog[2 * pc + 1];
    const code = w & 0xffff;
    switch (code & 0x07) {
      case LD:
      case LDX: {
        const mode = code & 0xe0;
        let v: number;
        if (mode === IMM) v = k;
        else if (mode === LEN) v = wirelen;
        else if (mode === MEM) v = mem[k & 15] >>> 0;
        else {
          const at = mode === IND ? (x + k) >>> 0 : k;
          const size = code & 0x18;
          const len = size === W ? 4 : size === H ? 2 : 1;
          if (at > caplen - len || caplen < len) return 0;
          const p = off + at;
          if (mode === MSH) v = (d[p] & 0x0f) << 2;
          else if (size === W) v = ((d[p] << 24) | (d[p + 1] << 16) | (d[p + 2] << 8) | d[p + 3]) >>> 0;
          else if (size === H) v = (d[p] << 8) | d[p + 1];
          else if (size === B) v = d[p];
          else return 0;
        }
        if ((code & 0x07) === LD) a = v;
        else x = v;
        break;
      }
      case ST:
        mem[k & 15] = a;
        break;
      case STX:
        mem[k & 15] = x;
        break;
      case ALU: {
        const s = code & SRC_X ? x : k;
        switch (code & 0xf0) {
          case 0x00: a = (a + s) >>> 0; break;
          case 0x10: a = (a - s) >>> 0; break;
          case 0x20: a = Math.imul(a, s) >>> 0; break;
          case 0x30: if (s === 0) return 0; a = Math.floor(a / s) >>> 0; break;
          case 0x40: a = (a | s) >>> 0; break;
          case 0x50: a = (a & s) >>> 0; break;
          case 0x60: a = s >= 32 ? 0 : (a << s) >>> 0; break;
          case 0x70: a = s >= 32 ? 0 : a >>> s; break;
          case 0x80: a = -a >>> 0; break;
          case 0x90: if (s === 0) return 0; a = a % s; break;
          case 0xa0: a = (a ^ s) >>> 0; break;
          default: return 0;
        }
        break;
      }
      case JMP: {
        const op = code & 0xf0;
        if (op === 0x00) {
          pc += k;
          break;
        }
        const s = code & SRC_X ? x : k;
        const t = op === 0x10 ? a === s : op === 0x20 ? a > s : op === 0x30 ? a >= s : op === 0x40 ? (a & s) !== 0 : false;
        pc += t ? (w >>> 16) & 0xff : w >>> 24;
        break;
      }
      case RET:
        return (code & 0x18) === 0x10 ? a : code & SRC_X ? x : k;
      default: // MISC
        if (code & 0x80) a = x;
        else x = a;
    }
  }
  return 0;
}
