/**
 * Codec impairment table for the E-model: equipment impairment Ie and packet-loss robustness Bpl.
 * Values marked authoritative come from ITU-T G.113 Appendix I as widely reproduced (REFERENCE.md 5);
 * the others are placeholders an operator should override from configuration.
 */
export interface CodecParams {
  /** Display name, e.g. 'G.711 PLC'. */
  name: string;
  /** Equipment impairment factor Ie. */
  ie: number;
  /** Packet-loss robustness factor Bpl. */
  bpl: number;
  /** Nominal RTP clock rate (Hz). */
  clockRate: number;
  /** True when Ie and Bpl are the G.113 Appendix I figures; false for guesses. */
  authoritative: boolean;
}

export interface CodecEntry extends CodecParams {
  /** Names that select this entry (normalised: lower case, letters and digits only). */
  aliases: string[];
  /** Static RTP payload types (RFC 3551) that select this entry. */
  staticPts: number[];
}

/** G.711 with packet-loss concealment: what every current phone and gateway runs. */
export const G711_PLC: CodecEntry = {
  name: 'G.711 PLC', ie: 0, bpl: 25.1, clockRate: 8000, authoritative: true,
  aliases: ['pcmu', 'pcma', 'g711', 'g711u', 'g711a', 'g711ulaw', 'g711alaw', 'g711mu'], staticPts: [0, 8],
};

export const DEFAULT_CODECS: readonly CodecEntry[] = [
  G711_PLC,
  // Reachable only by name: a plain PCMU/PCMA stream is assumed to have PLC.
  { name: 'G.711 no PLC', ie: 0, bpl: 4.3, clockRate: 8000, authoritative: true, aliases: ['g711noplc', 'pcmunoplc', 'pcmanoplc'], staticPts: [] },
  { name: 'G.729A', ie: 11, bpl: 19.0, clockRate: 8000, authoritative: true, aliases: ['g729', 'g729a', 'g729ab', 'g729b'], staticPts: [18] },
  { name: 'G.723.1', ie: 15, bpl: 16.1, clockRate: 8000, authoritative: true, aliases: ['g723', 'g7231', 'g72363'], staticPts: [4] },
  { name: 'GSM-EFR', ie: 5, bpl: 10.0, clockRate: 8000, authoritative: true, aliases: ['gsmefr', 'efr'], staticPts: [] },
  // GSM-FR and G.726-32: G.113 gives Ie only; Bpl 4.3 (no concealment, the G.711 no-PLC figure) is our
  // conservative assumption, hence authoritative: false.
  { name: 'GSM-FR', ie: 20, bpl: 4.3, clockRate: 8000, authoritative: false, aliases: ['gsm', 'gsmfr'], staticPts: [3] },
  { name: 'G.726-32', ie: 7, bpl: 4.3, clockRate: 8000, authoritative: false, aliases: ['g72632', 'g726', 'g721'], staticPts: [2] },
  { name: 'G.728', ie: 7, bpl: 4.3, clockRate: 8000, authoritative: false, aliases: ['g728'], staticPts: [15] },
  // Wideband codecs belong to the wideband E-model (G.107.1); on the narrowband scale we treat them like
  // G.711 with PLC, which is a guess.
  { name: 'G.722', ie: 0, bpl: 25.1, clockRate: 8000, authoritative: false, aliases: ['g722'], staticPts: [9] },
  { name: 'Opus', ie: 0, bpl: 25.1, clockRate: 48000, authoritative: false, aliases: ['opus'], staticPts: [] },
  { name: 'AMR-WB', ie: 0, bpl: 25.1, clockRate: 16000, authoritative: false, aliases: ['amrwb'], staticPts: [] },
  { name: 'AMR', ie: 5, bpl: 10.0, clockRate: 8000, authoritative: false, aliases: ['amr', 'amrnb'], staticPts: [] },
];

/** RFC 3551 encoding names of the static audio payload types (normalised). */
const STATIC_PT_NAMES: (string | undefined)[] = [];
STATIC_PT_NAMES[0] = 'pcmu';
STATIC_PT_NAMES[2] = 'g721';
STATIC_PT_NAMES[3] = 'gsm';
STATIC_PT_NAMES[4] = 'g723';
STATIC_PT_NAMES[8] = 'pcma';
STATIC_PT_NAMES[9] = 'g722';
STATIC_PT_NAMES[15] = 'g728';
STATIC_PT_NAMES[18] = 'g729';

/** Used for unknown codecs: the G.711-with-PLC figures (no evidence of a worse codec). */
export const DEFAULT_CODEC: CodecParams = { name: 'default', ie: 0, bpl: 25.1, clockRate: 8000, authoritative: false };

/** Names byCodecName remembers as given, at most. */
const RAW_NAMES_CACHED = 256;

/** 'G.711 A-law', 'PCMA/8000', 'g711A' -> 'g711alaw'/'pcma'/'g711a'. Drops an rtpmap '/clock/channels' suffix. */
export function normaliseCodecName(name: string): string {
  const slash = name.indexOf('/');
  const base = slash >= 0 ? name.slice(0, slash) : name;
  return base.toLowerCase().replace(/[^a-z0-9]/g, '');
}

export interface CodecOverride {
  name: string;
  ie: number;
  bpl: number;
  clockRate?: number;
  aliases?: string[];
  staticPts?: number[];
}

/** Codec lookups by name (case- and punctuation-insensitive) and by static payload type. */
export class CodecTable {
  private readonly byName = new Map<string, CodecParams>();
  private readonly byPt: (CodecParams | undefined)[] = new Array(128);
  /**
   * byCodecName's answers by the name as given (null: none): a report resolves its stream's codec, and
   * normalising the name each time would make two strings per report. Cleared when it reaches
   * RAW_NAMES_CACHED names (SDP can carry any name).
   */
  private readonly byRawName = new Map<string, CodecParams | null>();
  readonly fallback: CodecParams;

  constructor(entries: readonly CodecEntry[] = DEFAULT_CODECS, fallback: CodecParams = DEFAULT_CODEC) {
    this.fallback = fallback;
    for (const e of entries) this.add(e);
  }

  /**
   * Built-in table with configuration entries merged over it, keyed by encoding name as in
   * config/rtpprobe.yaml (`qos.codecs: { pcma: { ie, bpl }, default: { ie, bpl } }`); 'default' replaces
   * the fallback for unknown codecs. An entry for a name also replaces its built-in aliases' params
   * only for that name (e.g. `pcmu` does not change `pcma`).
   */
  static fromConfig(entries: Record<string, { ie: number; bpl: number; clockRate?: number }>): CodecTable {
    let fallback: CodecParams = DEFAULT_CODEC;
    const d = entries.default;
    if (d) {
      const t = new CodecTable([], DEFAULT_CODEC);
      t.add({ name: 'default', ie: d.ie, bpl: d.bpl, clockRate: d.clockRate });
      fallback = t.byCodecName('default')!;
    }
    const table = new CodecTable(DEFAULT_CODECS, fallback);
    for (const [name, e] of Object.entries(entries)) if (name !== 'default') table.add({ name, ie: e.ie, bpl: e.bpl, clockRate: e.clockRate });
    return table;
  }

  /** Adds or replaces an entry; configuration overrides come through here (authoritative: operator's word). */
  add(e: CodecEntry | CodecOverride): void {
    if (!Number.isFinite(e.ie) || !Number.isFinite(e.bpl) || e.bpl <= 0) {
      throw new Error(`codec '${e.name}': ie must be a number and bpl a positive number`);
    }
    const params: CodecParams = {
      name: e.name, ie: e.ie, bpl: e.bpl, clockRate: e.clockRate ?? 8000,
      authoritative: 'authoritative' in e ? e.authoritative : true,
    };
    this.byRawName.clear();
    this.byName.set(normaliseCodecName(e.name), params);
    for (const a of e.aliases ?? []) this.byName.set(normaliseCodecName(a), params);
    for (const pt of e.staticPts ?? []) if (pt >= 0 && pt < 128) this.byPt[pt] = params;
  }

  byCodecName(name: string): CodecParams | undefined {
    let p = this.byRawName.get(name);
    if (p === undefined) {
      p = this.byName.get(normaliseCodecName(name)) ?? null;
      if (this.byRawName.size >= RAW_NAMES_CACHED) this.byRawName.clear();
      this.byRawName.set(name, p);
    }
    return p ?? undefined;
  }

  byStaticPt(pt: number): CodecParams | undefined {
    return pt >= 0 && pt < 96 ? this.byPt[pt] : undefined;
  }

  /**
   * Name first (from SDP rtpmap), then the RFC 3551 name of a static PT (so a configured 'pcmu' entry
   * applies to PT 0 streams without SDP), then the static PT table, then the fallback entry.
   */
  resolve(name: string | null | undefined, pt: number): CodecParams {
    if (name) {
      const n = this.byCodecName(name);
      if (n) return n;
    }
    const staticName = pt >= 0 && pt < 96 ? STATIC_PT_NAMES[pt] : undefined;
    if (staticName) {
      const n = this.byName.get(staticName);
      if (n) return n;
    }
    return this.byStaticPt(pt) ?? this.fallback;
  }
}
