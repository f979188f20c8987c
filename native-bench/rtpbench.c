/*
 * C reference of rtpprobe's hot loop, for the TypeScript/C speed ratio. It does the same work per packet
 * as PacketDecoder.decode + looksLikeSip + RtpEngine.onRtp (src/decode/decoder.ts, src/sip/detect.ts,
 * src/rtp/engine.ts with src/rtp/sequence.ts, timing.ts and loss-model.ts), with the same formulas in
 * double precision so both produce the same numbers:
 *   - pcap records (classic, us or ns, either byte order) read from one in-memory buffer
 *   - Ethernet, 802.1Q/QinQ, IPv4 (non-fragments), IPv6 (no extension headers), UDP
 *   - SIP content screen on every UDP payload, RTP v2 header checks (CSRC, extension, padding)
 *   - open-addressing hash on (src, dst, ports, SSRC), the same hash function, linear probing
 *   - Wireshark's sequence bookkeeping, delta, jitter, skew, min/max/running means (cumulative and
 *     interval sets), RFC 3550 A.1 sequence validation with a 128-entry reorder window, A.8 jitter,
 *     least-squares drift sums, Gilbert/RFC 3611 loss-state counters.
 *   - the jitter-buffer emulation of src/rtp/jitter-buffer.ts per stream (two fixed buffers, one adaptive;
 *     on by default as qos.jitter_buffers.emulate, off with --no-jb).
 *   - the per-call work (calls.c, on by default, off with --no-calls): SIP and SDP parsed, dialogs and the
 *     SDP binding table kept, each new stream attached to its call, RTCP parsed with round-trip
 *     references, each stream's interval scored every 10 s of capture time (E-model per jitter buffer) and
 *     its final report built as JSON text at its end, and the media-fault checks once a second (silences,
 *     one-way and no-media).
 * Usage: rtpbench FILE.pcap [--repeat N] [--dump] [--decode-only] [--warm N] [--max-streams N] [--no-jb] [--no-calls]
 *   prints "packets=... rtp=... streams=... best_ns=..." (with the per-call work "faults=" the fault reports made,
 *   ALERT and CLEARED of rules silence, one-way-rtp and no-media; with --warm N: time from record N on, the
 *   first N records start the streams untimed) and with --dump one line per stream
 *   (src sport dst dport ssrc packets lost maxDelta maxJitter meanJitter meanDelta, then with the
 *   emulation the discards of F1 F2 ADAPT and the BurstR of their loss runs, then with the per-call
 *   work cid=CALL-ID (empty: no call) and mos=F1,F2,ADAPT, the final report's MOS through each buffer,
 *   sil=SILENCES,SILENCE_MS,MAX_SILENCE_MS and ow=ONE_WAY_RTP of its final report) sorted by key.
 * Not hardened for hostile files beyond length checks: it is a benchmark.
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "calls.h"

#define KEY_WORDS 10
#define WIN 128
#define SEQ_MOD 65536
#define MAX_DROPOUT 3000
#define MAX_MISORDER 100
#define GMIN 16

enum { K_MEDIA = 0, K_CN = 1, K_TEV = 2 };

/* Per-stream state, the same fields, types and split as src/rtp/stream-store.ts: a hot part (key and
 * everything an in-order packet touches, 320 B = 5 cache lines) and a cold part (168 B) in another array. */
typedef struct {
  int32_t key[KEY_WORDS];
  int32_t first_ts, a8_prev_ts, cycles, fin_ext, bad_seq, pk, ninc, nincj, ls_n, clock;
  uint32_t win[4]; /* reorder window: bit (ext & 127) */
  int32_t recv_run, cl_pkts, cl_lost, markers;
  uint16_t max_seq, ws_seq, stop_seq, first_seq;
  uint8_t pt, kind, prev_kind, ws_under, a8_valid, last, last_base, flags;
  double last_ms, first_ms, last_nom, ws_jit, ws_delta, skew, a8_j, a8_prev_ms;
  double ls_x, ls_y, ls_xx, ls_xy, by, meand, meanj, sumd;
  double i_mind, i_maxd, i_minj, i_maxj, i_maxsk, i_sumd, i_sumj, i_start;
} hot_t;

typedef struct {
  double c_mind, c_maxd, c_minj, c_maxj, c_maxsk, by_base;
  int32_t se, oo, du, cn, tev, pt_changes, ssrc_changes, exp_off, exp_prior, b_pk, b_se, b_oo, b_du, b_ninc, b_nincj;
  int32_t nrl, nll, burst_pkts, burst_lost, nbursts, lb[5], callref;
  uint16_t ws_cycles, vlan1;
  uint8_t macs[12];
} cold_t;

_Static_assert(sizeof(hot_t) == 320, "hot part is 5 cache lines");
_Static_assert(sizeof(cold_t) == 168, "cold part as in stream-store.ts");

typedef struct {
  int max_streams;
  hot_t *hot;
  cold_t *cold;
  int32_t *table; /* slot << tag_bits | (hash & tag_mask), -1 empty; 1.5 x max_streams entries */
  uint32_t size, tag_bits, tag_mask;
  int count;
  int epoch_set;
  double epoch_sec;
  uint64_t rtp, not_rtp, malformed;
} engine_t;

/* ---------------- packet source: one pcap in memory ---------------- */

typedef struct {
  const uint8_t *data;
  size_t len;
  int swap, nanos;
  uint32_t link;
} pcap_t_;

static uint32_t rd32(const uint8_t *p, int swap) {
  uint32_t v = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
  return swap ? __builtin_bswap32(v) : v;
}

static uint32_t be32(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

/* ---------------- SIP screen (src/sip/detect.ts looksLikeSip) ---------------- */

static const char *METHODS[] = {"INVITE", "ACK", "BYE", "CANCEL", "OPTIONS", "REGISTER", "PRACK", "SUBSCRIBE", "NOTIFY", "PUBLISH", "INFO", "REFER", "MESSAGE", "UPDATE"};
static int METHOD_LEN[14];

static int matches_at(const uint8_t *b, size_t off, size_t end, const char *w, int n) {
  if (off + (size_t)n > end) return 0;
  return memcmp(b + off, w, (size_t)n) == 0;
}

static int looks_like_sip(const uint8_t *b, size_t off, size_t len) {
  size_t end = off + len;
  if (len < 12) return 0;
  if (matches_at(b, off, end, "SIP/2.0", 7)) {
    return b[off + 7] == 32 && b[off + 8] >= '0' && b[off + 8] <= '9' && b[off + 9] >= '0' && b[off + 9] <= '9' &&
           b[off + 10] >= '0' && b[off + 10] <= '9' && (b[off + 11] == 32 || b[off + 11] == 13);
  }
  uint8_t first = b[off];
  if (first < 65 || first > 85) return 0;
  int method = -1;
  for (int m = 0; m < 14; m++) {
    int n = METHOD_LEN[m];
    if ((uint8_t)METHODS[m][0] == first && matches_at(b, off, end, METHODS[m], n) && off + (size_t)n < end && b[off + n] == 32) {
      method = m;
      break;
    }
  }
  if (method < 0) return 0;
  size_t limit = end < off + 1024 ? end : off + 1024;
  for (size_t i = off + (size_t)METHOD_LEN[method] + 1; i < limit; i++) {
    uint8_t c = b[i];
    if (c == 13 || c == 10) {
      size_t s = i - 7;
      return s > off && b[s - 1] == 32 && matches_at(b, s, end, "SIP/2.0", 7);
    }
  }
  return 0;
}

/* ---------------- engine ---------------- */

/* hashStreamKey of src/rtp/stream-index.ts: independent per-word multiplies, then the murmur3 finalizer. */
static uint32_t rotl16(uint32_t x) { return (x << 16) | (x >> 16); }
static uint32_t hash_key(const uint32_t *k) {
  uint32_t h = (k[9] * 0x9e3779b1u) ^ (k[8] * 0x85ebca77u) ^ (k[3] * 0xc2b2ae3du) ^ (k[7] * 0x27d4eb2fu) ^
               ((k[2] ^ rotl16(k[6])) * 0x165667b1u) ^ ((k[1] ^ rotl16(k[5])) * 0xd3a2646du) ^ ((k[0] ^ rotl16(k[4])) * 0xfd7046c5u);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h & 0x7fffffffu;
}

static void engine_init(engine_t *e, int max_streams) {
  e->max_streams = max_streams;
  e->hot = aligned_alloc(64, (size_t)max_streams * sizeof(hot_t));
  e->cold = calloc((size_t)max_streams, sizeof(cold_t));
  memset(e->hot, 0, (size_t)max_streams * sizeof(hot_t));
  e->size = (uint32_t)(max_streams * 1.5 + 0.999999);
  if (e->size < 16) e->size = 16;
  e->table = malloc(e->size * sizeof(int32_t));
  for (uint32_t i = 0; i < e->size; i++) e->table[i] = -1;
  uint32_t slot_bits = 1;
  while ((1u << slot_bits) <= (uint32_t)max_streams) slot_bits++;
  e->tag_bits = 31 - slot_bits;
  e->tag_mask = (1u << e->tag_bits) - 1;
  e->count = 0;
  e->epoch_set = 0;
  e->rtp = e->not_rtp = e->malformed = 0;
}

static void engine_free(engine_t *e) {
  free(e->hot);
  free(e->cold);
  free(e->table);
}

/* floor(h * size / 2^31): the TS engine's (h * scale) | 0. */
static uint32_t home(const engine_t *e, uint32_t h) { return (uint32_t)(((uint64_t)h * e->size) >> 31); }

/* Loss model of src/rtp/loss-model.ts: gap counts and R->R, L->R transitions are derived at report time. */
static void close_cluster(hot_t *s, cold_t *c) {
  if (s->cl_lost >= 2) {
    c->burst_pkts += s->cl_pkts;
    c->burst_lost += s->cl_lost;
    c->nbursts++;
  }
  s->cl_pkts = 0;
  s->cl_lost = 0;
}

static void loss_feed(hot_t *s, cold_t *c, int received) {
  int last = s->last;
  if (received) {
    s->last = 1;
    int run = ++s->recv_run;
    if (run >= GMIN && s->cl_lost > 0) close_cluster(s, c);
  } else {
    if (last == 1) c->nrl++;
    else if (last == 2) c->nll++;
    s->last = 2;
    if (s->cl_lost > 0) {
      s->cl_pkts += s->recv_run + 1;
      s->cl_lost++;
    } else {
      s->cl_pkts = 1;
      s->cl_lost = 1;
    }
    s->recv_run = 0;
  }
}

static void finalize_up_to(hot_t *s, cold_t *c, int32_t last) {
  int32_t e = s->fin_ext;
  for (; e <= last; e++) {
    uint32_t *wd = &s->win[(e >> 5) & 3];
    uint32_t bit = 1u << (e & 31);
    loss_feed(s, c, (*wd & bit) != 0);
    *wd &= ~bit;
  }
  if (e > s->fin_ext) s->fin_ext = e;
}

static void resolve_payload(hot_t *s, int pt) {
  int clock = (pt == 6) ? 16000 : (pt == 10 || pt == 11) ? 44100 : (pt == 16) ? 11025 : (pt == 17) ? 22050 : 0;
  if (pt == 0 || pt == 3 || pt == 4 || pt == 5 || pt == 7 || pt == 8 || pt == 9 || pt == 12 || pt == 13 || pt == 15 || pt == 18) clock = 8000;
  if (pt == 14 || pt == 25 || pt == 26 || pt == 28 || (pt >= 31 && pt <= 34)) clock = 90000;
  if (!(clock > 0)) clock = 8000;
  s->clock = clock;
  s->kind = (pt == 13 || pt == 19) ? K_CN : K_MEDIA;
}

static void a8(hot_t *s, double t, uint32_t ts) {
  if (s->kind == K_TEV) return;
  if (s->a8_valid) {
    double d = ((t - s->a8_prev_ms) * s->clock) / 1000 - (double)(int32_t)(ts - (uint32_t)s->a8_prev_ts);
    s->a8_j = s->a8_j + (fabs(d) - s->a8_j) / 16;
  }
  s->a8_prev_ms = t;
  s->a8_prev_ts = (int32_t)ts;
  s->a8_valid = 1;
}

static void first_packet(hot_t *s, cold_t *c, double t, int seq, uint32_t ts, int pt, int marker, double bytes) {
  s->first_ms = s->last_ms = t;
  s->first_ts = (int32_t)ts;
  s->first_seq = s->stop_seq = s->ws_seq = (uint16_t)seq;
  s->pt = (uint8_t)pt;
  resolve_payload(s, pt);
  s->prev_kind = s->kind;
  s->max_seq = (uint16_t)seq;
  s->cycles = SEQ_MOD;
  int32_t ext = SEQ_MOD + seq;
  c->exp_off = ext;
  s->fin_ext = ext;
  s->bad_seq = -1;
  s->win[(ext >> 5) & 3] |= 1u << (ext & 31);
  a8(s, t, ts);
  if (marker) s->markers++;
  if (s->kind == K_CN) c->cn++;
  else if (s->kind == K_TEV) c->tev++;
  s->pk = 1;
  s->by = bytes;
  s->i_start = t;
  s->i_mind = INFINITY;
  s->i_minj = INFINITY;
  c->c_mind = INFINITY;
  c->c_minj = INFINITY;
  c->callref = -1;
}

/* seq, ahead of the highest number by less than MAX_DROPOUT, becomes the highest. */
static void rfc_advance(hot_t *s, cold_t *c, int seq) {
  int32_t new_cycles = seq < s->max_seq ? s->cycles + SEQ_MOD : s->cycles;
  s->cycles = new_cycles;
  s->max_seq = (uint16_t)seq;
  s->bad_seq = -1;
  int32_t new_max = new_cycles + seq;
  if (s->fin_ext <= new_max - WIN) finalize_up_to(s, c, new_max - WIN);
  s->win[(new_max >> 5) & 3] |= 1u << (new_max & 31);
}

static void rfc_sequence(hot_t *s, cold_t *c, int seq) {
  int max_seq = s->max_seq;
  int udelta = (seq - max_seq) & 0xffff;
  int32_t cycles = s->cycles;
  int32_t max_ext = cycles + max_seq;
  if (udelta == 0) {
    c->du++;
  } else if (udelta <= MAX_MISORDER) {
    rfc_advance(s, c, seq);
  } else if (udelta <= SEQ_MOD - MAX_MISORDER) {
    /* A jump past the reorder distance, believed once the next packet follows it: a gap below
     * MAX_DROPOUT, a restart beyond. */
    if (seq == s->bad_seq && ((seq - 1 - max_seq) & 0xffff) < MAX_DROPOUT) {
      rfc_advance(s, c, (seq - 1) & 0xffff);
      rfc_advance(s, c, seq);
    } else if (seq == s->bad_seq) {
      finalize_up_to(s, c, max_ext);
      int32_t base = SEQ_MOD + ((seq - 1) & 0xffff);
      c->exp_off += base - max_ext - 1;
      s->cycles = seq == 0 ? 2 * SEQ_MOD : SEQ_MOD;
      s->max_seq = (uint16_t)seq;
      s->fin_ext = base;
      s->bad_seq = -1;
      memset(s->win, 0, sizeof s->win);
      s->win[(base >> 5) & 3] |= 1u << (base & 31);
      s->win[((base + 1) >> 5) & 3] |= 1u << ((base + 1) & 31);
    } else {
      s->bad_seq = (seq + 1) & 0xffff;
    }
  } else {
    int32_t ext = max_ext - ((max_seq - seq) & 0xffff);
    if (ext > max_ext - WIN && ext >= s->fin_ext) {
      uint32_t *wd = &s->win[(ext >> 5) & 3];
      uint32_t bit = 1u << (ext & 31);
      if (*wd & bit) {
        c->du++;
      } else {
        *wd |= bit;
        c->oo++;
      }
    } else {
      c->oo++;
    }
  }
}

/* ---------------- jitter-buffer emulation (src/rtp/jitter-buffer.ts) ----------------
 * Three buffers per stream on every audio packet, the model of that file's header comment: F1 and F2
 * fixed (50 and 200 ms), ADAPT adaptive (5th/95th percentiles of a 64-entry ring of transits, D =
 * clamp(hi - lo + 10, 20, 500), starting at 40, recomputed as the ring fills (8, 16, 32, 64 samples), then
 * every 64 packets, and at talkspurts from 8 samples on); relative transits from the
 * stream's first audio packet; fixed buffers re-anchor at talkspurts, overflow and steps beyond
 * RESYNC_MS; after UNDERRUN_DISCARDS late packets in a row the next late one re-anchors; Gilbert
 * transitions per buffer and RFC 3611 clusters of the reference buffer (ADAPT) on the numbers fed. The
 * same state split and float32 storage as the TS records (a 64-byte hot record, a cold one, a ring). */
#define JB_NB 3
#define JB_HIST 64
#define JB_RESYNC_MS 1000.0
#define JB_EDGE_MS 0.0005 /* a packet at its playout time (float32 anchors) is played */
#define JB_LO_PCT 5
#define JB_HI_PCT 95
#define JB_UNDERRUN 8
#define JB_F1_MS 50.0
#define JB_F2_MS 200.0
#define JB_MIN_MS 20.0
#define JB_MAX_MS 500.0
#define JB_MARGIN_MS 10.0
#define JB_START_MS 40.0
#define JB_EARLY 8
#define JB_REF 2
enum { JB_STARTED = 1, JB_TALKSPURT = 2, JB_ANCHORED = 4, JB_LOST_SHIFT = 3, JB_PEND_SHIFT = 8, JB_HELD = 1 << 12, JB_HELD_SHIFT = 13, JB_HELD_MASK = 15 << 12 };
#define JB_CONFIRMED 0x10000 /* a gap from this on: the next number after a held jump, believed (sequence.ts Gap.CONFIRMED) */
#define JB_PEND 8 /* numbers the loss runs hold open behind the highest (jitter-buffer.ts PEND) */
enum { JB_RL = 0, JB_LR = 1, JB_LL = 2 };

typedef struct {
  double tref, ad_sum;
  float base[JB_NB], ad, ad_max_i;
  int32_t state, fed, run, cl_lost, ad_n, pos, late_run;
} jb_hot_t;

typedef struct {
  double ad_sum_b, ad_max_c;
  int32_t disc[JB_NB], disc_b[JB_NB], tr[3 * JB_NB], tr_b[3 * JB_NB];
  int32_t fed_b, ad_n_b, fed_lost, cl_pkts, burst_pkts, burst_lost, nbursts;
  int32_t pend; /* open numbers, oldest at bit 0: bits 0..7 missing, 8 + 8b.. lost or discarded in buffer b */
} jb_cold_t;

_Static_assert(sizeof(jb_hot_t) == 64, "jitter-buffer hot record is one cache line");
_Static_assert(sizeof(jb_cold_t) == 144, "jitter-buffer cold record as in jitter-buffer.ts");

static int g_jb = 1; /* --no-jb: no jitter-buffer emulation (qos.jitter_buffers.emulate: false) */
static int g_calls_on = 1; /* --no-calls: no per-call work (calls.c) */
static jb_hot_t *g_jbh;
static jb_cold_t *g_jbc;
static float *g_ring;

static void jb_alloc(int slots) {
  g_jbh = aligned_alloc(64, (size_t)slots * sizeof(jb_hot_t));
  g_jbc = calloc((size_t)slots, sizeof(jb_cold_t));
  g_ring = calloc((size_t)slots * JB_HIST, sizeof(float));
  memset(g_jbh, 0, (size_t)slots * sizeof(jb_hot_t));
}

static void jb_free(void) {
  free(g_jbh);
  free(g_jbc);
  free(g_ring);
}

static void jb_start(int slot) {
  memset(&g_jbh[slot], 0, sizeof(jb_hot_t));
  memset(&g_jbc[slot], 0, sizeof(jb_cold_t));
  g_jbh[slot].ad = (float)fmin(fmax(JB_START_MS, JB_MIN_MS), JB_MAX_MS);
}

static void jb_loss_run(jb_hot_t *h, jb_cold_t *c, int g) {
  h->fed += g;
  c->fed_lost += g;
  if (h->cl_lost > 0) c->cl_pkts += h->run + g;
  else c->cl_pkts = g;
  h->cl_lost += g;
  h->run = 0;
}

static void jb_close_cluster(jb_hot_t *h, jb_cold_t *c) {
  if (h->cl_lost >= 2) {
    c->burst_pkts += c->cl_pkts;
    c->burst_lost += h->cl_lost;
    c->nbursts++;
  }
  c->cl_pkts = 0;
  h->cl_lost = 0;
}

static void jb_feed(jb_hot_t *h, jb_cold_t *c, int gap, int late_bits) {
  int32_t state = h->state;
  int bits = (state >> JB_LOST_SHIFT) & 7;
  if (gap > 0) {
    if (h->fed > 0) {
      for (int b = 0; b < JB_NB; b++) c->tr[3 * b + (((bits >> b) & 1) ? JB_LL : JB_RL)]++;
    }
    for (int b = 0; b < JB_NB; b++) c->tr[3 * b + JB_LL] += gap - 1;
    bits = 7;
    jb_loss_run(h, c, gap);
  }
  if ((bits | late_bits) != 0) {
    if (h->fed > 0) {
      for (int b = 0; b < JB_NB; b++) {
        int now = (late_bits >> b) & 1;
        if ((bits >> b) & 1) c->tr[3 * b + (now ? JB_LL : JB_LR)]++;
        else if (now) c->tr[3 * b + JB_RL]++;
      }
    }
    h->state = (state & ~(7 << JB_LOST_SHIFT)) | (late_bits << JB_LOST_SHIFT);
  }
  if ((late_bits >> JB_REF) & 1) jb_loss_run(h, c, 1);
  else {
    h->fed++;
    int32_t run = ++h->run;
    if (run >= GMIN && h->cl_lost > 0) jb_close_cluster(h, c);
  }
}

/* jitter-buffer.ts feedHead: the oldest open number fed (missing: lost in every buffer), the window shifted. */
static int32_t jb_feed_head(jb_hot_t *h, jb_cold_t *c, int32_t pend) {
  jb_feed(h, c, 0, (pend & 1) ? 7 : ((pend >> 8) & 1) | ((pend >> 15) & 2) | ((pend >> 22) & 4));
  return (int32_t)(((uint32_t)pend >> 1) & 0x7f7f7f7fu);
}

/* jitter-buffer.ts flush: every open number fed. */
static void jb_flush(jb_hot_t *h, jb_cold_t *c) {
  int32_t pend = c->pend;
  for (int len = (h->state >> JB_PEND_SHIFT) & 15; len > 0; len--) pend = jb_feed_head(h, c, pend);
  c->pend = 0;
  h->state &= ~(15 << JB_PEND_SHIFT);
}

/* jitter-buffer.ts settle: a number through the window of open numbers (gap >= 0 in order, gap < -2
 * reordered -3 - gap behind the highest), the final ones at its head fed in order. */
static void jb_settle(jb_hot_t *h, jb_cold_t *c, int gap, int late) {
  int len = (h->state >> JB_PEND_SHIFT) & 15;
  if (len == 0 && gap == 0) {
    jb_feed(h, c, 0, late);
    return;
  }
  int32_t pend = c->pend;
  int at;
  if (gap >= 0) {
    while (len > 0 && len + gap >= JB_PEND) {
      pend = jb_feed_head(h, c, pend);
      len--;
    }
    if (gap >= JB_PEND) {
      jb_feed(h, c, gap - JB_PEND, 7);
      gap = JB_PEND - 1;
    }
    pend |= ((1 << gap) - 1) << len;
    at = len + gap;
    len = at + 1;
  } else {
    at = len - 1 - (-3 - gap);
    if (at < 0 || ((pend >> at) & 1) == 0) return;
    pend &= ~(1 << at);
  }
  pend |= ((late & 1) << (8 + at)) | (((late >> 1) & 1) << (16 + at)) | (((late >> 2) & 1) << (24 + at));
  while (len > 0 && (pend & 1) == 0) {
    pend = jb_feed_head(h, c, pend);
    len--;
  }
  c->pend = pend;
  h->state = (h->state & ~(15 << JB_PEND_SHIFT)) | (len << JB_PEND_SHIFT);
}

/* The k lowest and highest samples by insertion (as the TS recompute), percentiles, the new delay. */
static void jb_recompute(jb_hot_t *h, const float *ring, int n) {
  double lo[8], hi[8];
  int i_lo = ((n - 1) * JB_LO_PCT) / 100;
  int i_hi = n - 1 - (int)ceil(((double)(n - 1) * JB_HI_PCT) / 100);
  int n_lo = 0, n_hi = 0;
  double t_lo = INFINITY, t_hi = -INFINITY;
  for (int i = 0; i < n; i++) {
    double v = ring[i];
    if (v < t_lo) {
      int j = n_lo <= i_lo ? n_lo++ : i_lo;
      for (; j > 0 && lo[j - 1] > v; j--) lo[j] = lo[j - 1];
      lo[j] = v;
      if (n_lo > i_lo) t_lo = lo[i_lo];
    }
    if (v > t_hi) {
      int j = n_hi <= i_hi ? n_hi++ : i_hi;
      for (; j > 0 && hi[j - 1] < v; j--) hi[j] = hi[j - 1];
      hi[j] = v;
      if (n_hi > i_hi) t_hi = hi[i_hi];
    }
  }
  double d = hi[i_hi] - lo[i_lo] + JB_MARGIN_MS;
  if (d < JB_MIN_MS) d = JB_MIN_MS;
  if (d > JB_MAX_MS) d = JB_MAX_MS;
  h->base[2] = (float)lo[i_lo];
  h->ad = (float)d;
}

/* jitter-buffer.ts confirmJump: the held jump believed, `skipped` numbers before it lost; the state after. */
static int32_t jb_confirm_jump(jb_hot_t *h, jb_cold_t *c, int32_t state, int skipped) {
  h->state = state & ~JB_HELD_MASK;
  if ((state & (15 << JB_PEND_SHIFT)) != 0) jb_flush(h, c);
  jb_feed(h, c, skipped, (state >> JB_HELD_SHIFT) & 7);
  return h->state;
}

/* One packet: arrival ms, media ms since the stream's first packet, audio (0: CN / telephone event),
 * marker, gap (>= 0 numbers skipped, -2 a jump (its number held), JB_CONFIRMED + g the next number after
 * the held jump, believed, -3 - d reordered d behind the highest). */
static void jb_packet(int slot, double arrival, double media, int audio, int marker, int gap) {
  jb_hot_t *h = &g_jbh[slot];
  int32_t state = h->state;
  if ((state & JB_STARTED) == 0) state = JB_STARTED | JB_TALKSPURT;
  else if (gap >= JB_CONFIRMED) {
    state = jb_confirm_jump(h, &g_jbc[slot], state, gap - JB_CONFIRMED);
    gap = 0;
  } else if (gap >= -2) state &= ~JB_HELD_MASK;
  if (!audio) {
    h->state = state | JB_TALKSPURT | (gap == -2 ? JB_HELD : 0);
    if (gap >= 0 || gap < -2) jb_settle(h, &g_jbc[slot], gap, 0);
    return;
  }
  double transit = arrival - media;
  if ((state & JB_ANCHORED) == 0) {
    h->tref = transit;
    state |= JB_ANCHORED | JB_TALKSPURT;
  }
  double r = transit - h->tref;
  int spurt = (state & JB_TALKSPURT) != 0 || marker != 0 || gap == -2;
  h->state = state & ~JB_TALKSPURT;
  int late = 0;
  int32_t runs = h->late_run;
  if (spurt) {
    h->base[0] = (float)r;
    h->base[1] = (float)r;
  } else {
    double b1 = h->base[0];
    if (r < b1 - JB_F1_MS - JB_EDGE_MS || r > b1 + JB_F1_MS + JB_RESYNC_MS) h->base[0] = (float)r;
    else if (r > b1 + JB_F1_MS + JB_EDGE_MS) {
      if ((runs & 0xff) >= JB_UNDERRUN) h->base[0] = (float)r;
      else late = 1;
    }
    double b2 = h->base[1];
    if (r < b2 - JB_F2_MS - JB_EDGE_MS || r > b2 + JB_F2_MS + JB_RESYNC_MS) h->base[1] = (float)r;
    else if (r > b2 + JB_F2_MS + JB_EDGE_MS) {
      if (((runs >> 8) & 0xff) >= JB_UNDERRUN) h->base[1] = (float)r;
      else late |= 2;
    }
  }
  float *ring = g_ring + (size_t)slot * JB_HIST;
  double lo = h->base[2];
  double d_ad = h->ad;
  int32_t p = h->pos;
  int pos = p & 1023;
  int n = (p >> 10) & 2047;
  int until = (p >> 21) - 1; /* packets until the next recompute, this one taken */
  if (n == 0 || r > lo + JB_MAX_MS + JB_RESYNC_MS || r < lo - JB_MAX_MS - JB_RESYNC_MS) {
    n = 0;
    pos = 0;
    until = JB_EARLY - 1;
    h->base[2] = (float)r;
  } else if (r > lo + d_ad + JB_EDGE_MS) {
    if (((runs >> 16) & 0xff) >= JB_UNDERRUN) h->base[2] = (float)r;
    else late |= 4;
  }
  ring[pos] = (float)r;
  pos = pos + 1 == JB_HIST ? 0 : pos + 1;
  if (n < JB_HIST) n++;
  if (until <= 0 || (spurt && n >= JB_EARLY)) {
    jb_recompute(h, ring, n);
    /* filling: at the next power of two of the samples held (or full); full: a history on */
    if (n < JB_HIST) {
      int next = 1 << (32 - __builtin_clz((unsigned)n));
      until = (next < JB_HIST ? next : JB_HIST) - n;
    } else {
      until = JB_HIST;
    }
    d_ad = h->ad;
  }
  h->pos = pos | (n << 10) | (until << 21);
  h->ad_sum += d_ad;
  h->ad_n++;
  if (d_ad > h->ad_max_i) h->ad_max_i = (float)d_ad;
  if ((runs | late) != 0) {
    h->late_run = ((late & 1) ? (runs & 0xff) + 1 : 0) | ((late & 2) ? (runs & 0xff00) + 0x100 : 0) |
                  ((late & 4) ? (runs & 0xff0000) + 0x10000 : 0);
  }
  if (late != 0) {
    jb_cold_t *c = &g_jbc[slot];
    if (late & 1) c->disc[0]++;
    if (late & 2) c->disc[1]++;
    if (late & 4) c->disc[2]++;
  }
  if (gap >= 0 || gap < -2) jb_settle(h, &g_jbc[slot], gap, late);
  else h->state |= JB_HELD | (late << JB_HELD_SHIFT);
}

/* The packet's gap relative to the highest sequence number before the RFC 3550 step (the Gap that
 * sequence.ts packetSequence returns); duplicates are not played. */
static void jb_on_packet(hot_t *s, int slot, double t, int seq, uint32_t ts, int marker) {
  int max_seq = s->max_seq;
  int ud = (seq - max_seq) & 0xffff;
  int gap;
  if (ud == 0) return;
  if (ud <= MAX_MISORDER) gap = ud - 1;
  else if (ud <= SEQ_MOD - MAX_MISORDER) {
    int jump = (seq - 1 - max_seq) & 0xffff; /* confirmed: an outage (its numbers lost) or a restart */
    gap = seq == s->bad_seq ? JB_CONFIRMED + (jump < MAX_DROPOUT ? jump - 1 : 0) : -2;
  }
  else {
    int32_t max_ext = s->cycles + max_seq;
    int32_t ext = max_ext - ((max_seq - seq) & 0xffff);
    if (ext > max_ext - WIN && ext >= s->fin_ext && (s->win[(ext >> 5) & 3] & (1u << (ext & 31))) != 0) return;
    gap = -3 - ((max_seq - seq) & 0xffff);
  }
  int audio = s->clock > 0 && s->kind != K_CN && s->kind != K_TEV;
  double media = audio ? ((double)(int32_t)(ts - (uint32_t)s->first_ts) * 1000) / s->clock : 0;
  jb_packet(slot, t, media, audio, marker, gap);
}

static void next_packet(hot_t *s, cold_t *c, int slot, double t, int seq, uint32_t ts, int pt, int marker, double bytes) {
  double prev_ms = s->last_ms;
  s->last_ms = t;
  int32_t before = s->pk;
  if (s->i_start != s->i_start) s->i_start = t;
  s->pk = before + 1;
  s->by += bytes;
  if (marker) s->markers++;

  uint32_t since_first = ts - (uint32_t)s->first_ts;
  int wrong_ts = since_first >= 0x80000000u;
  int first_seq = s->first_seq;
  int under = s->ws_under;
  if (under == 0 ? (seq < first_seq || (seq == 0 && s->stop_seq == 65535)) : seq > first_seq) {
    if (under == 0) {
      c->ws_cycles++;
      s->ws_under = 1;
    } else {
      s->ws_under = 0;
    }
  }
  int ws_seq = s->ws_seq;
  if (ws_seq + 1 == seq || (ws_seq == 65535 && seq == 0)) {
    s->ws_seq = (uint16_t)seq;
  } else {
    if (ws_seq + 1 < seq || ws_seq - seq > 0xff00) s->ws_seq = (uint16_t)seq;
    c->se++;
  }
  s->stop_seq = (uint16_t)seq;

  int prev_kind = s->prev_kind;
  if (pt != s->pt) {
    s->pt = (uint8_t)pt;
    c->pt_changes++;
    resolve_payload(s, pt);
  }
  int kind = s->kind;
  s->prev_kind = (uint8_t)kind;
  if (kind == K_CN) c->cn++;
  else if (kind == K_TEV) c->tev++;

  int clock = s->clock;
  double div = kind == K_TEV ? 0 : clock / 1000.0;
  double delta = t - prev_ms;
  double jitter = s->ws_jit;
  if (div > 0) {
    double nominal = (double)since_first / div;
    double expected = prev_ms + (nominal - s->last_nom);
    jitter = (15 * jitter + fabs(t - expected)) / 16;
    s->ws_jit = jitter;
    s->last_nom = nominal;
    double skew = nominal - (t - s->first_ms);
    s->skew = skew;
    if (fabs(skew) > fabs(s->i_maxsk)) s->i_maxsk = skew;
    if (!wrong_ts && kind != K_TEV) {
      double x = t - s->first_ms;
      double y = ((double)since_first / clock) * 1000;
      s->ls_n++;
      s->ls_x += x;
      s->ls_y += y;
      s->ls_xx += x * x;
      s->ls_xy += x * y;
    }
  }
  s->ws_delta = delta;
  if (marker == 0 && kind != K_CN && prev_kind != K_CN && !wrong_ts) {
    s->meand = (s->meand * (before - 1) + delta) / before;
    s->ninc++;
    s->sumd += delta;
    if (delta > s->i_maxd) s->i_maxd = delta;
    if (delta < s->i_mind) s->i_mind = delta;
    s->i_sumd += delta;
    if (div > 0) {
      s->meanj = (s->meanj * (before - 1) + jitter) / before;
      s->nincj++;
      if (jitter > s->i_maxj) s->i_maxj = jitter;
      if (jitter < s->i_minj) s->i_minj = jitter;
      s->i_sumj += jitter;
    }
  }
  a8(s, t, ts);
  if (g_jb) jb_on_packet(s, slot, t, seq, ts, marker);
  rfc_sequence(s, c, seq);
}

/* The probe starts a signalled stream (its reports, its call) at its second packet in sequence
 * (rtp signalledMinConsecutive 2; the packets before it are fed to it then): the per-call work starts it there. */
enum { FLAG_UNCONFIRMED = 1 };
static void confirm_stream(const engine_t *e, hot_t *s, int slot, int seq, int pt, double t) {
  if (seq != ((s->max_seq + 1) & 0xffff)) return;
  s->flags &= (uint8_t)~FLAG_UNCONFIRMED;
  calls_stream_started(slot, (const uint32_t *)s->key, pt, e->epoch_sec * 1000 + t);
}

/* One UDP payload handed to the engine as a signalled stream. */
static void on_rtp(engine_t *e, const uint32_t *addr, int sport, int dport, const uint8_t *b, size_t len, double sec, double nsec) {
  if (len < 12 || (b[0] >> 6) != 2) { e->not_rtp++; return; }
  int pt = b[1] & 0x7f;
  if (pt >= 72 && pt <= 95) { e->not_rtp++; return; }
  size_t hdr = 12 + ((size_t)(b[0] & 0x0f) << 2);
  if (hdr > len) { e->malformed++; return; }
  if (b[0] & 0x10) {
    if (hdr + 4 > len) { e->malformed++; return; }
    hdr += 4 + ((size_t)((b[hdr + 2] << 8) | b[hdr + 3]) << 2);
    if (hdr > len) { e->malformed++; return; }
  }
  size_t pad = 0;
  if (b[0] & 0x20) {
    pad = b[len - 1];
    if (pad == 0 || hdr + pad > len) { e->malformed++; return; }
  }
  double bytes = (double)(len - hdr - pad);
  int marker = b[1] >> 7;
  int seq = (b[2] << 8) | b[3];
  uint32_t ts = be32(b + 4);
  uint32_t ssrc = be32(b + 8);
  if (!e->epoch_set) { e->epoch_sec = sec; e->epoch_set = 1; }
  double t = (sec - e->epoch_sec) * 1000 + nsec / 1e6;

  uint32_t key[KEY_WORDS];
  memcpy(key, addr, 8 * sizeof(uint32_t));
  key[8] = ((uint32_t)sport << 16) | (uint32_t)dport;
  key[9] = ssrc;
  uint32_t h = hash_key(key);
  uint32_t i = home(e, h);
  for (;;) {
    int32_t ent = e->table[i];
    if (ent < 0) break;
    if (((uint32_t)ent & e->tag_mask) == (h & e->tag_mask)) {
      int32_t slot = (int32_t)((uint32_t)ent >> e->tag_bits);
      hot_t *s = &e->hot[slot];
      if (memcmp(s->key, key, sizeof key) == 0) {
        e->rtp++;
        if (s->flags & FLAG_UNCONFIRMED) confirm_stream(e, s, slot, seq, pt, t);
        next_packet(s, &e->cold[slot], slot, t, seq, ts, pt, marker, bytes);
        return;
      }
    }
    if (++i == e->size) i = 0;
  }
  if (e->count >= e->max_streams) { e->malformed++; return; } /* the benchmark sizes the table: no eviction */
  int32_t slot = e->count++;
  e->table[i] = (int32_t)(((uint32_t)slot << e->tag_bits) | (h & e->tag_mask));
  hot_t *s = &e->hot[slot];
  cold_t *c = &e->cold[slot];
  memset(s, 0, sizeof *s);
  memset(c, 0, sizeof *c);
  memcpy(s->key, key, sizeof key);
  e->rtp++;
  first_packet(s, c, t, seq, ts, pt, marker, bytes);
  if (g_jb) {
    jb_start(slot);
    jb_packet(slot, t, 0, s->clock > 0 && s->kind != K_CN && s->kind != K_TEV, marker, 0);
  }
  if (g_calls_on) s->flags |= FLAG_UNCONFIRMED;
}

/* ---------------- decode ---------------- */

static uint64_t g_sip, g_udp, g_bad;
static int g_decode_only; /* --decode-only: stop before the engine (to split the cost) */
static uint64_t g_sink;   /* --decode-only: the decoded fields, summed (printed, so they are computed) */

/* RTCP: version 2 and a first packet type of 200..207 (SR, RR, SDES, BYE, APP, RTPFB, PSFB, XR). */
static int is_rtcp(const uint8_t *b, size_t len) { return len >= 8 && (b[0] >> 6) == 2 && b[1] >= 200 && b[1] <= 207; }

static void decode(engine_t *e, const uint8_t *b, size_t caplen, double sec, double nsec) {
  size_t off = 0, end = caplen;
  if (end < 14) { g_bad++; return; }
  int type = (b[12] << 8) | b[13];
  off = 14;
  while (type == 0x8100 || type == 0x88a8 || type == 0x9100) {
    if (end - off < 4) { g_bad++; return; }
    type = (b[off + 2] << 8) | b[off + 3];
    off += 4;
  }
  uint32_t addr[8];
  size_t data_end, claimed_end;
  int proto;
  if (type == 0x0800) {
    size_t avail = end - off;
    if (avail < 20 || (b[off] >> 4) != 4) { g_bad++; return; }
    size_t ihl = (size_t)(b[off] & 15) << 2;
    if (ihl < 20 || ihl > avail) { g_bad++; return; }
    size_t total = (size_t)((b[off + 2] << 8) | b[off + 3]);
    if (total == 0) total = avail;
    else if (total < ihl) { g_bad++; return; }
    addr[0] = 0; addr[1] = 0; addr[2] = 0xffff; addr[3] = be32(b + off + 12);
    addr[4] = 0; addr[5] = 0; addr[6] = 0xffff; addr[7] = be32(b + off + 16);
    proto = b[off + 9];
    if ((((b[off + 6] << 8) | b[off + 7]) & 0x3fff) != 0) return; /* fragments: not in the benchmark input */
    claimed_end = off + total;
    data_end = claimed_end < end ? claimed_end : end;
    off += ihl;
  } else if (type == 0x86dd) {
    if (end - off < 40 || (b[off] >> 4) != 6) { g_bad++; return; }
    for (int w = 0; w < 8; w++) addr[w] = be32(b + off + 8 + 4 * w);
    size_t plen = (size_t)((b[off + 4] << 8) | b[off + 5]);
    claimed_end = plen == 0 ? end : off + 40 + plen;
    data_end = claimed_end < end ? claimed_end : end;
    proto = b[off + 6];
    off += 40;
  } else {
    return;
  }
  if (proto != 17) return;
  if (data_end - off < 8 || data_end < off) { g_bad++; return; }
  size_t ulen = (size_t)((b[off + 4] << 8) | b[off + 5]);
  if (ulen < 8) { g_bad++; return; }
  if (off + ulen > claimed_end) ulen = claimed_end - off;
  g_udp++;
  int sport = (b[off] << 8) | b[off + 1];
  int dport = (b[off + 2] << 8) | b[off + 3];
  size_t pay = off + 8;
  size_t claimed = off + ulen;
  size_t pay_end = claimed < data_end ? claimed : data_end;
  if (looks_like_sip(b, pay, pay_end - pay)) {
    g_sip++;
    if (g_calls_on) calls_on_sip(b + pay, pay_end - pay, addr, sport, addr + 4, dport, sec * 1000 + nsec / 1e6);
    return;
  }
  if (g_decode_only) {
    /* Consume what the engine would read, so the compiler cannot drop the address, port and time work
     * of the decode (the full run needs it; the TypeScript decode stage stores all of it). */
    g_sink += (uint64_t)(addr[0] ^ addr[1] ^ addr[2] ^ addr[3] ^ addr[4] ^ addr[5] ^ addr[6] ^ addr[7]) + (uint64_t)(sport << 16 | dport) +
              (uint64_t)(pay + (pay_end - pay)) + (uint64_t)(sec + nsec);
    return;
  }
  if (g_calls_on && is_rtcp(b + pay, pay_end - pay)) {
    calls_on_rtcp(b + pay, pay_end - pay, addr, sport, addr + 4, dport, sec * 1000 + nsec / 1e6);
    return;
  }
  on_rtp(e, addr, sport, dport, b + pay, pay_end - pay, sec, nsec);
}

static double now_ns(void);

/* ---------------- per-call work: capture-time ticks and the engine's side of calls.h ---------------- */

static engine_t *g_engine; /* the engine the stream_* functions read */
static double g_next_tick_ms, g_now_ms;

/* Once a second of capture time (the probe's report tick, checked at every packet): calls.c ends
 * lingering calls' streams and scores the intervals due. */
static void tick_at_packet(double now_ms) {
  if (now_ms > g_now_ms) g_now_ms = now_ms;
  if (now_ms < g_next_tick_ms) return;
  g_next_tick_ms = g_now_ms + 1000;
  calls_tick(g_now_ms);
}

/* Gilbert model burst ratio 1/(p + q) from transition counts (jitter-buffer.ts gilbertBurstR): 1 without loss,
 * recovery taken as certain (q = 1) when no transition out of loss was seen, 1 when p = q = 0 (a period that
 * is one loss run begun before it). */
static double gilbert_burst_r(double rr, double rl, double lr, double ll) {
  if (rl == 0 && ll == 0) return 1;
  double p = rr + rl > 0 ? rl / (rr + rl) : 0;
  double q = lr + ll > 0 ? lr / (lr + ll) : 1;
  return p + q > 0 ? 1 / (p + q) : 1;
}

/* loss-model.ts lossMetrics: Gilbert burst ratio and RFC 3611 densities of a resolved loss state (x, xc;
 * `fed` numbers fed) minus the slot's interval baseline (base_fed numbers fed then; 0: none). */
static void loss_metrics(const hot_t *x, const cold_t *xc, const hot_t *s, const cold_t *c, double fed, double base_fed, double *burst_r, double *burst_density, double *gap_density) {
  double nrl = xc->nrl, nll = xc->nll;
  double nlr = fed > 0 ? nrl - (x->last == 2 ? 1 : 0) : 0;
  double nrr = fed > 0 ? fed - 1 - nrl - nlr - nll : 0;
  double bnrl = 0, bnll = 0, bnlr = 0, bnrr = 0, bbp = 0, bbl = 0;
  if (base_fed > 0) {
    bnrl = c->lb[0];
    bnll = c->lb[1];
    bnlr = bnrl - (s->last_base == 2 ? 1 : 0);
    bnrr = base_fed - 1 - bnrl - bnlr - bnll;
    bbp = c->lb[2];
    bbl = c->lb[3];
  }
  *burst_r = gilbert_burst_r(nrr - bnrr, nrl - bnrl, nlr - bnlr, nll - bnll);
  double bp = xc->burst_pkts - bbp, bl = xc->burst_lost - bbl;
  double gp = fed - xc->burst_pkts - (base_fed - bbp);
  double gl = nrl + nll - xc->burst_lost - (bnrl + bnll - bbl);
  *burst_density = bp > 0 ? bl / bp : 0;
  *gap_density = gp > 0 ? gl / gp : 0;
}

/* sequence.ts resolvedLoss: the loss state as if the stream ended now (window contents final), in copies. */
static void resolved_loss(const hot_t *s, const cold_t *c, hot_t *x, cold_t *xc) {
  *x = *s;
  *xc = *c;
  int32_t max_ext = s->cycles + s->max_seq;
  for (int32_t e = s->fin_ext; e <= max_ext; e++) loss_feed(x, xc, (s->win[(e >> 5) & 3] & (1u << (e & 31))) != 0);
  if (x->cl_lost > 0) close_cluster(x, xc);
  x->recv_run = 0;
}

static double rfc_expected(const hot_t *s, const cold_t *c) { return (double)s->cycles + s->max_seq - c->exp_off + 1; }

/* jitter-buffer.ts read(): discards, Gilbert burst ratio per buffer and the adaptive delay, of the
 * interval (cumulative 0) or since the start. */
static void jb_read(int slot, int cumulative, double discards[3], double burst_r[3], double *adapt_delay_ms) {
  /* On a copy with the open numbers fed (resolved, as if the stream ended here). */
  jb_hot_t hr = g_jbh[slot];
  jb_cold_t cr = g_jbc[slot];
  jb_flush(&hr, &cr);
  const jb_hot_t *h = &hr;
  const jb_cold_t *jc = &cr;
  int k = cumulative ? 0 : 1;
  int32_t transitions = !cumulative && jc->fed_b > 0 ? h->fed - jc->fed_b : h->fed > 0 ? h->fed - 1 : 0;
  for (int b = 0; b < JB_NB; b++) {
    discards[b] = jc->disc[b] - k * jc->disc_b[b];
    double rl = jc->tr[3 * b + JB_RL] - k * jc->tr_b[3 * b + JB_RL];
    double lr = jc->tr[3 * b + JB_LR] - k * jc->tr_b[3 * b + JB_LR];
    double ll = jc->tr[3 * b + JB_LL] - k * jc->tr_b[3 * b + JB_LL];
    burst_r[b] = gilbert_burst_r(transitions - rl - lr - ll, rl, lr, ll);
  }
  int32_t n = h->ad_n - k * jc->ad_n_b;
  *adapt_delay_ms = n > 0 ? (h->ad_sum - k * jc->ad_sum_b) / n : 0;
}

double stream_last_ms(int slot) { return g_engine->epoch_sec * 1000 + g_engine->hot[slot].last_ms; }

int stream_last_was_cn(int slot) { return g_engine->hot[slot].kind == K_CN; }

void stream_activity(int slot, stream_activity_t *out) {
  const engine_t *e = g_engine;
  const hot_t *s = &e->hot[slot];
  const cold_t *c = &e->cold[slot];
  out->expected = rfc_expected(s, c);
  out->packets = s->pk;
  out->mean_delta = s->meand;
  out->iv_packets = s->pk - c->b_pk;
  out->iv_max_delta = s->i_maxd;
  out->iv_start_ms = out->iv_packets > 0 ? e->epoch_sec * 1000 + s->i_start : 0;
}

void stream_interval(int slot, stream_interval_t *out) {
  const engine_t *e = g_engine;
  const hot_t *s = &e->hot[slot];
  const cold_t *c = &e->cold[slot];
  double expected = rfc_expected(s, c), prior = c->exp_prior;
  out->expected = expected - prior;
  out->packets = s->pk - c->b_pk;
  out->lost = out->expected - (out->packets - (c->du - c->b_du));
  hot_t x;
  cold_t xc;
  double bd, gd;
  resolved_loss(s, c, &x, &xc);
  loss_metrics(&x, &xc, s, c, expected, prior, &out->burst_r, &bd, &gd);
  out->jb = g_jb;
  if (g_jb) jb_read(slot, 0, out->jb_discards, out->jb_burst_r, &out->jb_adapt_delay_ms);
  double epoch_ms = e->epoch_sec * 1000;
  out->start_ms = epoch_ms + s->i_start;
  out->end_ms = epoch_ms + s->last_ms;
}

/* engine.ts resetInterval: timing folded into the cumulative set, sequence and loss baselines, the buffers'. */
void stream_reset_interval(int slot) {
  hot_t *s = &g_engine->hot[slot];
  cold_t *c = &g_engine->cold[slot];
  if (s->i_mind < c->c_mind) c->c_mind = s->i_mind;
  if (s->i_maxd > c->c_maxd) c->c_maxd = s->i_maxd;
  if (s->i_minj < c->c_minj) c->c_minj = s->i_minj;
  if (s->i_maxj > c->c_maxj) c->c_maxj = s->i_maxj;
  if (fabs(s->i_maxsk) > fabs(c->c_maxsk)) c->c_maxsk = s->i_maxsk;
  s->i_mind = INFINITY;
  s->i_maxd = 0;
  s->i_minj = INFINITY;
  s->i_maxj = 0;
  s->i_maxsk = 0;
  s->i_sumd = 0;
  s->i_sumj = 0;
  s->i_start = NAN;
  c->b_ninc = s->ninc;
  c->b_nincj = s->nincj;
  c->by_base = s->by;
  c->exp_prior = (int32_t)rfc_expected(s, c);
  c->b_pk = s->pk;
  c->b_se = c->se;
  c->b_oo = c->oo;
  c->b_du = c->du;
  hot_t x;
  cold_t xc;
  resolved_loss(s, c, &x, &xc);
  s->last_base = x.last;
  c->lb[0] = xc.nrl;
  c->lb[1] = xc.nll;
  c->lb[2] = xc.burst_pkts;
  c->lb[3] = xc.burst_lost;
  c->lb[4] = xc.nbursts;
  if (g_jb) {
    jb_hot_t *h = &g_jbh[slot];
    jb_cold_t *jc = &g_jbc[slot];
    memcpy(jc->disc_b, jc->disc, sizeof jc->disc);
    jb_hot_t hr = *h; /* the loss runs' baseline: resolved, as jb_read takes them */
    jb_cold_t cr = *jc;
    jb_flush(&hr, &cr);
    memcpy(jc->tr_b, cr.tr, sizeof jc->tr);
    jc->fed_b = hr.fed;
    jc->ad_n_b = h->ad_n;
    jc->ad_sum_b = h->ad_sum;
    if (h->ad_max_i > jc->ad_max_c) jc->ad_max_c = h->ad_max_i;
    h->ad_max_i = 0;
  }
}

void stream_summary(int slot, stream_summary_t *u) {
  const engine_t *e = g_engine;
  const hot_t *s = &e->hot[slot];
  const cold_t *c = &e->cold[slot];
  memcpy(u->key, s->key, sizeof u->key);
  u->pt = s->pt;
  u->clock = s->clock;
  u->packets = s->pk;
  u->expected = rfc_expected(s, c);
  u->duplicates = c->du;
  u->lost = u->expected - (u->packets - u->duplicates);
  u->seq_errors = c->se;
  u->out_of_order = c->oo;
  u->bytes = s->by;
  u->pt_changes = c->pt_changes;
  u->mean_delta = s->meand;
  u->min_delta = c->c_mind < s->i_mind ? c->c_mind : s->i_mind;
  u->max_delta = c->c_maxd > s->i_maxd ? c->c_maxd : s->i_maxd;
  u->jitter = s->clock > 0 ? s->a8_j / s->clock * 1000 : 0;
  u->min_jitter = c->c_minj < s->i_minj ? c->c_minj : s->i_minj;
  u->max_jitter = c->c_maxj > s->i_maxj ? c->c_maxj : s->i_maxj;
  u->mean_jitter = s->meanj;
  u->skew = s->skew;
  u->max_skew = fabs(c->c_maxsk) > fabs(s->i_maxsk) ? c->c_maxsk : s->i_maxsk;
  double d = s->ls_n * s->ls_xx - s->ls_x * s->ls_x;
  u->drift_ppm = s->ls_n > 1 && d != 0 ? ((s->ls_n * s->ls_xy - s->ls_x * s->ls_y) / d - 1) * 1e6 : 0;
  double epoch_ms = e->epoch_sec * 1000;
  u->first_ms = epoch_ms + s->first_ms;
  u->last_ms = epoch_ms + s->last_ms;
  hot_t x;
  cold_t xc;
  resolved_loss(s, c, &x, &xc);
  loss_metrics(&x, &xc, s, c, u->expected, 0, &u->burst_r, &u->burst_density, &u->gap_density);
  /* RFC 3611 burst and gap durations: their packets at the packet duration of the RTP timestamps, the
   * media time from the first packet to the last over the numbers between them (timing.ts packetMs),
   * else at the stream's mean spacing. */
  double spacing = s->meand > 0 ? s->meand : 20, gap_pkts = u->expected - xc.burst_pkts;
  double ws_numbers = s->stop_seq + (double)c->ws_cycles * SEQ_MOD - s->first_seq;
  int32_t media = (int32_t)((uint32_t)s->a8_prev_ts - (uint32_t)s->first_ts);
  if (s->clock > 0 && ws_numbers == u->expected - 1 && ws_numbers > 0 && s->a8_valid && s->prev_kind != K_TEV && media > 0)
    spacing = media * 1000.0 / s->clock / ws_numbers;
  u->burst_duration_ms = xc.nbursts > 0 ? xc.burst_pkts * spacing / xc.nbursts : 0;
  u->gap_duration_ms = gap_pkts > 0 ? gap_pkts * spacing / (xc.nbursts + 1) : 0;
  memcpy(u->macs, c->macs, sizeof u->macs);
  u->jb = g_jb;
  if (g_jb) {
    jb_read(slot, 1, u->jb_discards, u->jb_burst_r, &u->jb_adapt_delay_ms);
    const jb_hot_t *h = &g_jbh[slot];
    double max_c = g_jbc[slot].ad_max_c;
    u->jb_adapt_max_ms = max_c > h->ad_max_i ? max_c : h->ad_max_i;
  } else {
    memset(u->jb_discards, 0, sizeof u->jb_discards);
    u->jb_adapt_delay_ms = u->jb_adapt_max_ms = 0;
  }
}

/* Walk every record; *t0 is the time when record `warm` starts (streams started before it are not timed). */
static uint64_t run(engine_t *e, const pcap_t_ *p, uint64_t warm, double *t0) {
  uint64_t n = 0;
  size_t pos = 24;
  *t0 = now_ns();
  while (pos + 16 <= p->len) {
    if (n == warm && warm > 0) *t0 = now_ns();
    const uint8_t *h = p->data + pos;
    uint32_t sec = rd32(h, p->swap), frac = rd32(h + 4, p->swap), caplen = rd32(h + 8, p->swap);
    if (pos + 16 + caplen > p->len) break;
    double nsec = p->nanos ? (double)frac : (double)frac * 1000;
    if (g_calls_on) tick_at_packet((double)sec * 1000 + nsec / 1e6);
    decode(e, h + 16, caplen, (double)sec, nsec);
    pos += 16 + caplen;
    n++;
  }
  return n;
}

/* CPU time of this thread: on a machine shared with other jobs, time spent descheduled is not the loop's
 * (the TypeScript side is timed the same way, from /proc/thread-self/schedstat). */
static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

typedef struct { const hot_t *s; const cold_t *c; } ref_t;

static int cmp_stream(const void *a, const void *b) {
  const ref_t *x = a, *y = b;
  /* Key words as unsigned (the stored int32 words are the uint32 key bits). */
  for (int i = 0; i < KEY_WORDS; i++) {
    uint32_t p = (uint32_t)x->s->key[i], q = (uint32_t)y->s->key[i];
    if (p != q) return p < q ? -1 : 1;
  }
  return 0;
}

static void ip_text(const uint32_t *w, char *out) {
  if (w[0] == 0 && w[1] == 0 && w[2] == 0xffff) {
    sprintf(out, "%u.%u.%u.%u", w[3] >> 24, (w[3] >> 16) & 255, (w[3] >> 8) & 255, w[3] & 255);
  } else {
    sprintf(out, "%x:%x:%x:%x:%x:%x:%x:%x", w[0] >> 16, w[0] & 0xffff, w[1] >> 16, w[1] & 0xffff, w[2] >> 16, w[2] & 0xffff, w[3] >> 16, w[3] & 0xffff);
  }
}

int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: rtpbench FILE.pcap [--repeat N] [--dump] [--decode-only] [--warm N] [--max-streams N] [--no-jb] [--no-calls]\n");
    return 2;
  }
  int repeat = 1, dump = 0;
  uint64_t warm = 0;
  int max_streams_arg = 0;
  for (int i = 2; i < argc; i++) {
    if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc) repeat = atoi(argv[++i]);
    else if (strcmp(argv[i], "--dump") == 0) dump = 1;
    else if (strcmp(argv[i], "--decode-only") == 0) g_decode_only = 1, g_calls_on = 0; /* the first stage alone */
    else if (strcmp(argv[i], "--no-jb") == 0) g_jb = 0;
    else if (strcmp(argv[i], "--no-calls") == 0) g_calls_on = 0;
    else if (strcmp(argv[i], "--warm") == 0 && i + 1 < argc) warm = (uint64_t)atoll(argv[++i]);
    else if (strcmp(argv[i], "--max-streams") == 0 && i + 1 < argc) max_streams_arg = atoi(argv[++i]);
  }
  for (int m = 0; m < 14; m++) METHOD_LEN[m] = (int)strlen(METHODS[m]);
  FILE *f = fopen(argv[1], "rb");
  if (!f) { perror(argv[1]); return 1; }
  fseek(f, 0, SEEK_END);
  long flen = ftell(f);
  fseek(f, 0, SEEK_SET);
  uint8_t *data = malloc((size_t)flen);
  if (!data || fread(data, 1, (size_t)flen, f) != (size_t)flen) { fprintf(stderr, "read failed\n"); return 1; }
  fclose(f);
  pcap_t_ p = {data, (size_t)flen, 0, 0, 1};
  uint32_t magic = rd32(data, 0);
  if (magic == 0xa1b2c3d4u || magic == 0xa1b23c4du) p.swap = 0;
  else if (magic == 0xd4c3b2a1u || magic == 0x4d3cb2a1u) { p.swap = 1; magic = __builtin_bswap32(magic); }
  else { fprintf(stderr, "not a classic pcap\n"); return 1; }
  p.nanos = magic == 0xa1b23c4du;
  p.link = rd32(data + 20, p.swap);
  if (p.link != 1) { fprintf(stderr, "only Ethernet pcaps\n"); return 1; }

  /* Count candidate streams generously: one slot per 16 records, at least 4096. */
  int max_streams = 4096;
  { size_t guess = (size_t)flen / 200 / 16; if (guess > (size_t)max_streams) max_streams = (int)guess; }
  if (max_streams_arg > 0) max_streams = max_streams_arg;
  double best = 1e300;
  uint64_t n = 0;
  engine_t e = {0};
  for (int r = 0; r < repeat; r++) {
    if (r > 0) {
      engine_free(&e);
      if (g_jb) jb_free();
      if (g_calls_on) calls_free();
    }
    engine_init(&e, max_streams);
    if (g_jb) jb_alloc(max_streams);
    if (g_calls_on) calls_init(max_streams);
    g_engine = &e;
    g_next_tick_ms = g_now_ms = 0;
    g_sip = g_udp = g_bad = 0;
    double t0;
    n = run(&e, &p, warm, &t0);
    double dt = now_ns() - t0;
    if (dt < best) best = dt;
    /* End of capture: the streams still open get their final reports (untimed, as the TypeScript side's
     * timed loop does not end its streams either). */
    if (g_calls_on) calls_finish(g_now_ms);
  }
  printf("packets=%llu udp=%llu sip=%llu rtp=%llu not_rtp=%llu malformed=%llu streams=%d best_ns=%.0f sink=%llu", (unsigned long long)n,
         (unsigned long long)g_udp, (unsigned long long)g_sip, (unsigned long long)e.rtp, (unsigned long long)e.not_rtp,
         (unsigned long long)e.malformed, e.count, best, (unsigned long long)(g_sink & 0xffffffff));
  if (g_calls_on) {
    calls_counts_t k = calls_counts();
    printf(" faults=");
    for (int r = 0; r < FAULT_RULES; r++) printf("%s%llu,%llu", r ? "," : "", (unsigned long long)k.faults[r][0], (unsigned long long)k.faults[r][1]);
  }
  printf("\n");
  if (g_calls_on) {
    calls_counts_t k = calls_counts();
    fprintf(stderr, "calls: sip=%llu sip_bad=%llu calls=%llu attached=%llu rtcp=%llu rtcp_bad=%llu rtts=%llu intervals=%llu reports=%llu report_bytes=%llu pauses=%llu silences=%llu\n",
            (unsigned long long)k.sip, (unsigned long long)k.sip_bad, (unsigned long long)k.calls, (unsigned long long)k.attached, (unsigned long long)k.rtcp,
            (unsigned long long)k.rtcp_bad, (unsigned long long)k.rtts, (unsigned long long)k.intervals, (unsigned long long)k.reports, (unsigned long long)k.report_bytes,
            (unsigned long long)k.pauses, (unsigned long long)k.silences);
  }
  if (dump) {
    ref_t *refs = malloc((size_t)e.count * sizeof(ref_t));
    for (int i = 0; i < e.count; i++) refs[i] = (ref_t){&e.hot[i], &e.cold[i]};
    qsort(refs, (size_t)e.count, sizeof(ref_t), cmp_stream);
    char a[64], b[64];
    for (int i = 0; i < e.count; i++) {
      const hot_t *s = refs[i].s;
      const cold_t *c = refs[i].c;
      uint32_t k[KEY_WORDS];
      memcpy(k, s->key, sizeof k);
      ip_text(k, a);
      ip_text(k + 4, b);
      double ws_expected = s->stop_seq + (double)c->ws_cycles * SEQ_MOD - s->first_seq + 1;
      /* No interval reset in this program: the cumulative max is the current interval's. */
      double max_d = c->c_maxd > s->i_maxd ? c->c_maxd : s->i_maxd;
      double max_j = c->c_maxj > s->i_maxj ? c->c_maxj : s->i_maxj;
      printf("%s %u %s %u %u %d %.0f %.9f %.9f %.9f %.9f", a, k[8] >> 16, b, k[8] & 0xffff, k[9], s->pk,
             ws_expected - s->pk, max_d, max_j, s->meanj, s->meand);
      if (g_jb) {
        /* Discards and the Gilbert BurstR of each buffer's loss runs (these count every number the buffers were fed). */
        double disc[3], burst_r[3], adapt_delay_ms;
        jb_read((int)(s - e.hot), 1, disc, burst_r, &adapt_delay_ms);
        printf(" %.0f %.0f %.0f %.9f %.9f %.9f", disc[0], disc[1], disc[2], burst_r[0], burst_r[1], burst_r[2]);
      }
      if (g_calls_on) {
        double mos[3];
        int slot = (int)(s - e.hot);
        int done = calls_stream_final_mos(slot, mos);
        printf(" cid=%s", calls_stream_call_id(slot));
        if (done) printf(" mos=%.9f,%.9f,%.9f", mos[0], mos[1], mos[2]);
        double sil[3];
        int one_way;
        calls_stream_silences(slot, sil, &one_way);
        printf(" sil=%.0f,%.9f,%.9f ow=%d", sil[0], sil[1], sil[2], one_way);
      }
      printf("\n");
    }
    free(refs);
  }
  engine_free(&e);
  if (g_jb) jb_free();
  if (g_calls_on) calls_free();
  free(data);
  return 0;
}
