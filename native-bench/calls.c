/*
 * The per-call work of the C reference (see calls.h): SIP and SDP parsed, dialogs and bindings kept,
 * streams attached to calls, RTCP parsed with round-trip references, intervals scored, media faults
 * checked (pauses and silences, one-way, no-media), final reports built. Written as a plain C probe would do it: fixed-size records, open-addressing tables with
 * backward-shift deletion, no allocation per message. The scoring uses the formulas of src/qos/emodel.ts
 * and src/report/qos-state.ts in double precision, so the final MOS per buffer is the probe's.
 */
#define _POSIX_C_SOURCE 200809L
#include "calls.h"
#include <arpa/inet.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define MAX_CALLS 20000      /* sip.max_calls default */
#define CALL_TABLE (1u << 16)
#define MAX_BINDINGS (4 * MAX_CALLS)
#define BINDING_TABLE (1u << 18)
#define SSRC_TABLE (1u << 16)
#define LINGER_MS 3000.0     /* sip.media_linger_s */
#define INTERVAL_MS 10000.0  /* reports.interval_s */
#define FRAGMENT_MS 500.0    /* report/qos-state.ts FRAGMENT_MS */
#define R_DEFAULT 93.2062077
#define CALL_STREAMS 8
#define CALL_BINDINGS 8
#define MAX_FORMATS 16
#define JB_REF 2             /* qos.jitter_buffers.reference: adaptive */
#define SILENCE_MS 5000.0    /* reports.faults.silence_s */
#define ONE_WAY_MS 5000.0    /* reports.faults.one_way_s */
#define NO_MEDIA_MS 5000.0   /* reports.faults.no_media_s */

/* ---------------- text helpers ---------------- */

typedef struct { const char *p; int n; } str_t;

static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int str_ieq(str_t s, const char *w) {
  int n = (int)strlen(w);
  if (s.n != n) return 0;
  for (int i = 0; i < n; i++) if (lower((unsigned char)s.p[i]) != w[i]) return 0;
  return 1;
}

static str_t trim(const char *p, const char *e) {
  while (p < e && (*p == ' ' || *p == '\t')) p++;
  while (e > p && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r')) e--;
  return (str_t){p, (int)(e - p)};
}

/* Copies s into a fixed field (truncated: a probe keeps bounded strings). */
static void copy_str(char *dst, size_t cap, str_t s) {
  size_t n = (size_t)s.n < cap - 1 ? (size_t)s.n : cap - 1;
  memcpy(dst, s.p, n);
  dst[n] = 0;
}

/* Value of `;name=` in a header value (case-insensitive name), up to the next ; , > or blank. */
static str_t header_param(str_t v, const char *name) {
  int n = (int)strlen(name);
  for (int i = 0; i + n + 1 < v.n; i++) {
    if (v.p[i] != ';') continue;
    int j = i + 1;
    while (j < v.n && v.p[j] == ' ') j++;
    int k = 0;
    while (k < n && j + k < v.n && lower((unsigned char)v.p[j + k]) == name[k]) k++;
    if (k < n || j + k >= v.n || v.p[j + k] != '=') continue;
    int s = j + k + 1, e = s;
    while (e < v.n && v.p[e] != ';' && v.p[e] != ',' && v.p[e] != '>' && v.p[e] != ' ') e++;
    return (str_t){v.p + s, e - s};
  }
  return (str_t){NULL, 0};
}

static uint32_t fnv1a(const char *p, int n) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < n; i++) h = (h ^ (uint8_t)p[i]) * 16777619u;
  return h;
}

static long to_long(str_t s) {
  long v = 0;
  int i = 0;
  while (i < s.n && s.p[i] >= '0' && s.p[i] <= '9') v = v * 10 + (s.p[i++] - '0');
  return i > 0 ? v : -1;
}

/* ---------------- SIP message ---------------- */

typedef struct {
  int request, status;
  str_t method, uri, branch, from_tag, to_tag, call_id, cseq_method, contact, user_agent, content_type;
  long cseq, content_length;
  const char *body;
  int body_len;
} sip_msg_t;

/* Header names with their compact forms (RFC 3261 7.3.3). */
static int header_is(str_t name, const char *full, const char *compact) {
  return str_ieq(name, full) || (compact != NULL && str_ieq(name, compact));
}

static int sip_parse(const char *p, int len, sip_msg_t *m) {
  memset(m, 0, sizeof *m);
  m->cseq = m->content_length = -1;
  const char *end = p + len, *eol = memchr(p, '\n', (size_t)len);
  if (eol == NULL) return 0;
  str_t line = trim(p, eol);
  if (line.n > 12 && memcmp(line.p, "SIP/2.0 ", 8) == 0) {
    m->status = (int)to_long((str_t){line.p + 8, 3});
    if (m->status < 100 || m->status > 699) return 0;
  } else {
    const char *sp = memchr(line.p, ' ', (size_t)line.n);
    if (sp == NULL) return 0;
    const char *sp2 = memchr(sp + 1, ' ', (size_t)(line.p + line.n - sp - 1));
    if (sp2 == NULL) return 0;
    m->request = 1;
    m->method = (str_t){line.p, (int)(sp - line.p)};
    m->uri = (str_t){sp + 1, (int)(sp2 - sp - 1)};
  }
  int first_via = 1;
  for (const char *q = eol + 1; q < end;) {
    const char *e = memchr(q, '\n', (size_t)(end - q));
    if (e == NULL) e = end;
    str_t h = trim(q, e);
    q = e + 1;
    if (h.n == 0) { /* blank line: the body follows */
      m->body = q < end ? q : end;
      m->body_len = (int)(end - m->body);
      break;
    }
    const char *colon = memchr(h.p, ':', (size_t)h.n);
    if (colon == NULL) continue;
    str_t name = trim(h.p, colon), v = trim(colon + 1, h.p + h.n);
    if (header_is(name, "via", "v")) {
      if (first_via) m->branch = header_param(v, "branch");
      first_via = 0;
    } else if (header_is(name, "from", "f")) m->from_tag = header_param(v, "tag");
    else if (header_is(name, "to", "t")) m->to_tag = header_param(v, "tag");
    else if (header_is(name, "call-id", "i")) m->call_id = v;
    else if (header_is(name, "cseq", NULL)) {
      m->cseq = to_long(v);
      const char *sp = memchr(v.p, ' ', (size_t)v.n);
      if (sp != NULL) m->cseq_method = trim(sp + 1, v.p + v.n);
    } else if (header_is(name, "contact", "m")) {
      const char *lt = memchr(v.p, '<', (size_t)v.n), *gt = lt ? memchr(lt, '>', (size_t)(v.p + v.n - lt)) : NULL;
      m->contact = lt && gt ? (str_t){lt + 1, (int)(gt - lt - 1)} : v;
    } else if (header_is(name, "user-agent", NULL) || header_is(name, "server", NULL)) m->user_agent = v;
    else if (header_is(name, "content-type", "c")) m->content_type = v;
    else if (header_is(name, "content-length", "l")) m->content_length = to_long(v);
  }
  if (m->body != NULL && m->content_length >= 0 && m->content_length < m->body_len) m->body_len = (int)m->content_length;
  return m->call_id.n > 0 && m->cseq >= 0;
}

/* ---------------- SDP ---------------- */

typedef struct { int pt, clock; char name[16]; } format_t;

typedef struct {
  uint32_t ip[4];
  int port, rtcp_port, rtcp_mux, ptime, direction; /* direction: 0 sendrecv, 1 sendonly, 2 recvonly, 3 inactive */
  int audio, nformats;
  format_t formats[MAX_FORMATS];
} media_t;

#define SDP_MEDIA 8

typedef struct { int n; media_t m[SDP_MEDIA]; } sdp_t;

static int parse_ip(str_t s, uint32_t *w) {
  char buf[64];
  copy_str(buf, sizeof buf, s);
  struct in_addr a4;
  struct in6_addr a6;
  if (inet_pton(AF_INET, buf, &a4) == 1) {
    w[0] = 0; w[1] = 0; w[2] = 0xffff; w[3] = ntohl(a4.s_addr);
    return 1;
  }
  if (inet_pton(AF_INET6, buf, &a6) == 1) {
    for (int i = 0; i < 4; i++) w[i] = ((uint32_t)a6.s6_addr[4 * i] << 24) | ((uint32_t)a6.s6_addr[4 * i + 1] << 16) | ((uint32_t)a6.s6_addr[4 * i + 2] << 8) | a6.s6_addr[4 * i + 3];
    return 1;
  }
  return 0;
}

/* The nth blank-separated word of s (0-based). */
static str_t word(str_t s, int nth) {
  int i = 0;
  for (int k = 0;; k++) {
    while (i < s.n && s.p[i] == ' ') i++;
    int st = i;
    while (i < s.n && s.p[i] != ' ') i++;
    if (k == nth || i >= s.n) return k == nth ? (str_t){s.p + st, i - st} : (str_t){NULL, 0};
  }
}

/* Static payload types (RFC 3551) by number: encoding name and clock. */
static void static_format(int pt, format_t *f) {
  static const char *names[35] = {[0] = "PCMU", [3] = "GSM", [4] = "G723", [8] = "PCMA", [9] = "G722", [15] = "G728", [18] = "G729"};
  f->pt = pt;
  f->clock = 8000;
  snprintf(f->name, sizeof f->name, "%s", pt < 35 && names[pt] ? names[pt] : "");
}

static void sdp_parse(const char *p, int len, sdp_t *s) {
  s->n = 0;
  uint32_t session_ip[4] = {0};
  int have_session_ip = 0;
  media_t *m = NULL;
  const char *end = p + len;
  for (const char *q = p; q < end;) {
    const char *e = memchr(q, '\n', (size_t)(end - q));
    if (e == NULL) e = end;
    str_t l = trim(q, e);
    q = e + 1;
    if (l.n < 2 || l.p[1] != '=') continue;
    str_t v = {l.p + 2, l.n - 2};
    switch (l.p[0]) {
    case 'c': { /* c=IN IP4 addr */
      uint32_t ip[4];
      if (!parse_ip(word(v, 2), ip)) break;
      if (m) memcpy(m->ip, ip, sizeof ip);
      else { memcpy(session_ip, ip, sizeof ip); have_session_ip = 1; }
      break;
    }
    case 'm': { /* m=audio PORT RTP/AVP fmt... */
      if (s->n == SDP_MEDIA) { m = NULL; break; }
      m = &s->m[s->n++];
      memset(m, 0, sizeof *m);
      if (have_session_ip) memcpy(m->ip, session_ip, sizeof session_ip);
      m->audio = str_ieq(word(v, 0), "audio");
      m->port = (int)to_long(word(v, 1));
      m->rtcp_port = m->port + 1;
      for (int k = 3; m->nformats < MAX_FORMATS; k++) {
        str_t f = word(v, k);
        if (f.n == 0) break;
        long pt = to_long(f);
        if (pt >= 0 && pt < 128) static_format((int)pt, &m->formats[m->nformats++]);
      }
      break;
    }
    case 'a': {
      if (m == NULL) break;
      if (v.n > 7 && memcmp(v.p, "rtpmap:", 7) == 0) { /* a=rtpmap:101 telephone-event/8000 */
        str_t rest = {v.p + 7, v.n - 7};
        long pt = to_long(rest);
        str_t enc = word(rest, 1);
        const char *slash = enc.n ? memchr(enc.p, '/', (size_t)enc.n) : NULL;
        for (int i = 0; i < m->nformats; i++) {
          if (m->formats[i].pt != pt || slash == NULL) continue;
          copy_str(m->formats[i].name, sizeof m->formats[i].name, (str_t){enc.p, (int)(slash - enc.p)});
          m->formats[i].clock = (int)to_long((str_t){slash + 1, (int)(enc.p + enc.n - slash - 1)});
        }
      } else if (v.n > 5 && memcmp(v.p, "rtcp:", 5) == 0) m->rtcp_port = (int)to_long((str_t){v.p + 5, v.n - 5});
      else if (v.n > 6 && memcmp(v.p, "ptime:", 6) == 0) m->ptime = (int)to_long((str_t){v.p + 6, v.n - 6});
      else if (str_ieq(v, "rtcp-mux")) m->rtcp_mux = 1;
      else if (str_ieq(v, "sendrecv")) m->direction = 0;
      else if (str_ieq(v, "sendonly")) m->direction = 1;
      else if (str_ieq(v, "recvonly")) m->direction = 2;
      else if (str_ieq(v, "inactive")) m->direction = 3;
      break;
    }
    default:
      break;
    }
  }
  for (int i = 0; i < s->n; i++) if (s->m[i].rtcp_mux) s->m[i].rtcp_port = s->m[i].port;
}

/* ---------------- calls and bindings ---------------- */

enum { C_CALLING = 0, C_EARLY, C_CONFIRMED, C_ENDED, C_FAILED };

typedef struct {
  int used, state, last_status;
  uint32_t hash;
  char call_id[128], tag[2][64], branch[64], user_agent[2][64], contact[2][96], cseq_method[16];
  long cseq;
  uint32_t caller_ip[4];
  int caller_port;
  double created_ms, updated_ms, retire_ms;
  int nbindings, bindings[CALL_BINDINGS];
  int nstreams, streams[CALL_STREAMS];
  int next_lingering;
  /* Media faults of the answered call (report/call-faults.ts): its place in the watch list (-1 none), since
   * when media is due, the latest audio per direction (0 none), the no-media fault open, the direction
   * flowing alone while a one-way fault lasts (-1 none). */
  int watch_pos, no_media, one_way_dir;
  double due_from_ms, heard_ms[2];
} call_t;

typedef struct {
  int used, call, side, media;
  uint32_t ip[4];
  int port, rtcp_port;
  media_t sdp;
} binding_t;

static call_t *g_calls;
static int32_t *g_call_table; /* call index, -1 empty */
static int g_free_calls[MAX_CALLS], g_nfree_calls;
static binding_t *g_bindings;
static int g_free_bindings[MAX_BINDINGS], g_nfree_bindings;
/* Binding table entry: key words (ip0..3, port) and value binding id * 2 + is_rtcp, -1 empty; key and
 * value side by side (one cache line read per probe). */
typedef struct { uint32_t key[5]; int32_t value; } bind_entry_t;
static bind_entry_t *g_btab;
static int g_linger_head = -1, g_linger_tail = -1;
static calls_counts_t g_counts;
static int g_watch[MAX_CALLS], g_nwatch; /* the answered calls the one-way and no-media checks watch */

static uint32_t call_home(uint32_t h) { return h & (CALL_TABLE - 1); }

static int call_find(str_t id, uint32_t h) {
  for (uint32_t i = call_home(h);; i = (i + 1) & (CALL_TABLE - 1)) {
    int32_t c = g_call_table[i];
    if (c < 0) return -1;
    const call_t *k = &g_calls[c];
    if (k->hash == h && (int)strlen(k->call_id) == (id.n < 127 ? id.n : 127) && memcmp(k->call_id, id.p, strlen(k->call_id)) == 0) return c;
  }
}

/* Backward-shift deletion of table entry i (linear probing): later entries of the run move up. */
static void call_table_delete(uint32_t i) {
  const uint32_t mask = CALL_TABLE - 1;
  for (;;) {
    g_call_table[i] = -1;
    uint32_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      int32_t c = g_call_table[j];
      if (c < 0) return;
      uint32_t h = call_home(g_calls[c].hash);
      if (((j - h) & mask) >= ((j - i) & mask)) { /* its home is at or before i: it may move to i */
        g_call_table[i] = c;
        i = j;
        break;
      }
    }
  }
}

static uint32_t binding_hash(const uint32_t *ip, int port) {
  uint32_t h = (ip[3] * 0x9e3779b1u) ^ (ip[2] * 0x85ebca77u) ^ (ip[1] * 0xc2b2ae3du) ^ (ip[0] * 0x27d4eb2fu) ^ ((uint32_t)port * 0x165667b1u);
  h ^= h >> 15;
  h *= 0x2c1b3c6du;
  h ^= h >> 12;
  return h & (BINDING_TABLE - 1);
}

static bind_entry_t *bind_slot(const uint32_t *ip, int port) {
  for (uint32_t i = binding_hash(ip, port);; i = (i + 1) & (BINDING_TABLE - 1)) {
    bind_entry_t *b = &g_btab[i];
    if (b->value < 0 || (b->key[4] == (uint32_t)port && memcmp(b->key, ip, 16) == 0)) return b;
  }
}

/* Binding id * 2 + is_rtcp at (ip, port), -1 when none. */
static int32_t bind_find(const uint32_t *ip, int port) { return bind_slot(ip, port)->value; }

static void bind_delete(const uint32_t *ip, int port) {
  uint32_t i = (uint32_t)(bind_slot(ip, port) - g_btab);
  if (g_btab[i].value < 0) return;
  const uint32_t mask = BINDING_TABLE - 1;
  for (;;) {
    g_btab[i].value = -1;
    uint32_t j = i;
    for (;;) {
      j = (j + 1) & mask;
      if (g_btab[j].value < 0) return;
      uint32_t h = binding_hash(g_btab[j].key, (int)g_btab[j].key[4]);
      if (((j - h) & mask) >= ((j - i) & mask)) {
        g_btab[i] = g_btab[j];
        i = j;
        break;
      }
    }
  }
}

static void bind_put(const uint32_t *ip, int port, int32_t value) {
  bind_entry_t *b = bind_slot(ip, port);
  memcpy(b->key, ip, 16);
  b->key[4] = (uint32_t)port;
  b->value = value;
}

/* The binding goes: out of its call's list and of the table (where its addresses still name it). */
static void binding_release(int id) {
  binding_t *b = &g_bindings[id];
  call_t *k = &g_calls[b->call];
  for (int i = 0; i < k->nbindings; i++) {
    if (k->bindings[i] != id) continue;
    k->bindings[i] = k->bindings[--k->nbindings];
    break;
  }
  if (bind_find(b->ip, b->port) == id * 2) bind_delete(b->ip, b->port);
  if (b->rtcp_port != b->port && bind_find(b->ip, b->rtcp_port) == id * 2 + 1) bind_delete(b->ip, b->rtcp_port);
  b->used = 0;
  g_free_bindings[g_nfree_bindings++] = id;
}

/* SDP media of `side` bind their address:port (and RTCP address) to the call; an address another call held moves. */
static void bind_sdp(int call, int side, const sdp_t *s) {
  call_t *c = &g_calls[call];
  for (int i = 0; i < s->n; i++) {
    const media_t *m = &s->m[i];
    if (m->port <= 0) continue;
    /* A new SDP of the same side replaces that m-line's binding. */
    for (int k = 0; k < c->nbindings; k++) {
      const binding_t *old = &g_bindings[c->bindings[k]];
      if (old->side != side || old->media != i) continue;
      binding_release(c->bindings[k]);
      break;
    }
    if (c->nbindings == CALL_BINDINGS || g_nfree_bindings == 0) return;
    int id = g_free_bindings[--g_nfree_bindings];
    binding_t *b = &g_bindings[id];
    b->used = 1;
    b->call = call;
    b->side = side;
    b->media = i;
    memcpy(b->ip, m->ip, sizeof b->ip);
    b->port = m->port;
    b->rtcp_port = m->rtcp_port;
    b->sdp = *m;
    c->bindings[c->nbindings++] = id;
    int32_t old = bind_find(b->ip, b->port);
    if (old >= 0 && old / 2 != id) binding_release(old / 2); /* the address moved to this call */
    bind_put(b->ip, b->port, id * 2);
    if (b->rtcp_port != b->port) bind_put(b->ip, b->rtcp_port, id * 2 + 1);
  }
}

static int call_new(str_t id, uint32_t h, double now_ms) {
  if (g_nfree_calls == 0) return -1; /* the benchmark sizes the table: no eviction */
  int c = g_free_calls[--g_nfree_calls];
  call_t *k = &g_calls[c];
  memset(k, 0, sizeof *k);
  k->used = 1;
  k->hash = h;
  copy_str(k->call_id, sizeof k->call_id, id);
  k->created_ms = k->updated_ms = now_ms;
  k->next_lingering = -1;
  k->watch_pos = -1;
  uint32_t i = call_home(h);
  while (g_call_table[i] >= 0) i = (i + 1) & (CALL_TABLE - 1);
  g_call_table[i] = c;
  g_counts.calls++;
  return c;
}

/* A call-level fault report (rule no-media: there is no stream to report on). */
static void call_fault_report(int c, int cleared, double now_ms);

/* The call is answered: its media is due from now (CallFaults.answered). */
static void watch_answered(int c, double now_ms) {
  call_t *k = &g_calls[c];
  if (k->watch_pos < 0) {
    k->watch_pos = g_nwatch;
    g_watch[g_nwatch++] = c;
  }
  k->due_from_ms = now_ms;
  k->heard_ms[0] = k->heard_ms[1] = 0;
  k->no_media = 0;
  k->one_way_dir = -1;
}

/* The call ended: no longer watched; an open no-media fault is cleared (CallFaults.ended). */
static void watch_end(int c, double now_ms) {
  call_t *k = &g_calls[c];
  if (k->watch_pos < 0) return;
  int moved = g_watch[--g_nwatch];
  g_watch[k->watch_pos] = moved;
  g_calls[moved].watch_pos = k->watch_pos;
  k->watch_pos = -1;
  if (k->no_media) call_fault_report(c, 1, now_ms);
}

/* The call ended (BYE, CANCEL, a failure): its media lingers LINGER_MS, then its streams end. */
static void call_end(int c, int state, double now_ms) {
  call_t *k = &g_calls[c];
  if (k->state == C_ENDED || k->state == C_FAILED) return;
  watch_end(c, now_ms);
  k->state = state;
  k->retire_ms = now_ms + LINGER_MS;
  if (g_linger_tail >= 0) g_calls[g_linger_tail].next_lingering = c;
  else g_linger_head = c;
  g_linger_tail = c;
}

static int side_of(const call_t *k, const uint32_t *src, int sport) {
  return memcmp(k->caller_ip, src, 16) == 0 && k->caller_port == sport ? 0 : 1;
}

void calls_on_sip(const uint8_t *b, size_t len, const uint32_t *src, int sport, const uint32_t *dst, int dport, double now_ms) {
  (void)dst;
  (void)dport;
  sip_msg_t m;
  if (!sip_parse((const char *)b, (int)len, &m)) { g_counts.sip_bad++; return; }
  g_counts.sip++;
  uint32_t h = fnv1a(m.call_id.p, m.call_id.n < 127 ? m.call_id.n : 127);
  int c = call_find(m.call_id, h);
  int invite = m.request ? str_ieq(m.method, "invite") : str_ieq(m.cseq_method, "invite");
  if (c < 0) {
    if (!(m.request && invite)) return; /* a dialog starts with an INVITE the probe saw */
    c = call_new(m.call_id, h, now_ms);
    if (c < 0) return;
    call_t *k = &g_calls[c];
    memcpy(k->caller_ip, src, 16);
    k->caller_port = sport;
    copy_str(k->tag[0], sizeof k->tag[0], m.from_tag);
  }
  call_t *k = &g_calls[c];
  k->updated_ms = now_ms;
  int side = side_of(k, src, sport);
  if (m.user_agent.n) copy_str(k->user_agent[side], sizeof k->user_agent[side], m.user_agent);
  if (m.contact.n) copy_str(k->contact[side], sizeof k->contact[side], m.contact);
  if (m.request) {
    if (m.branch.n) copy_str(k->branch, sizeof k->branch, m.branch);
    k->cseq = m.cseq;
    copy_str(k->cseq_method, sizeof k->cseq_method, m.method);
    if (str_ieq(m.method, "bye")) call_end(c, C_ENDED, now_ms);
    else if (str_ieq(m.method, "cancel")) call_end(c, C_FAILED, now_ms);
  } else {
    k->last_status = m.status;
    if (m.to_tag.n) copy_str(k->tag[1], sizeof k->tag[1], m.to_tag);
    if (invite && k->state < C_ENDED) {
      if (m.status >= 300) call_end(c, C_FAILED, now_ms);
      else if (m.status >= 200) {
        if (k->state != C_CONFIRMED) watch_answered(c, now_ms);
        k->state = C_CONFIRMED;
      }
      else if (m.status > 100 && k->state == C_CALLING) k->state = C_EARLY;
    }
  }
  if (m.body_len > 0 && m.content_type.n >= 15 && str_ieq((str_t){m.content_type.p, 15}, "application/sdp") && k->state < C_ENDED) {
    sdp_t s;
    sdp_parse(m.body, m.body_len, &s);
    bind_sdp(c, side, &s);
  }
}

/* ---------------- RTCP round-trip references ---------------- */

/* Round-trip references (src/rtcp/rtt.ts): per sender SSRC, its last SR_RING SRs (middle 32 bits of the
 * NTP time, when the probe saw it, the path it took); an RR block quoting one (LSR) from the other end of
 * that path, with its DLSR, gives the probe's round trip with the RR's sender, kept as the latest of that
 * source SSRC. The table is cleared when three quarters full (old senders' references age out). */
#define SR_RING 8
typedef struct {
  uint32_t ssrc, mid[SR_RING], path[SR_RING];
  double seen_ms[SR_RING], rtt_ms; /* rtt_ms: latest round trip about this SSRC, NaN none */
  int used, next;
  char cname[64];
} sr_ref_t;
static sr_ref_t *g_srs;
static int g_nsrs;

static sr_ref_t *sr_ref(uint32_t ssrc, int create) {
  for (uint32_t i = (ssrc * 0x9e3779b1u) >> 16;; i = (i + 1) & (SSRC_TABLE - 1)) {
    sr_ref_t *r = &g_srs[i];
    if (r->used && r->ssrc == ssrc) return r;
    if (!r->used) {
      if (!create) return NULL;
      if (g_nsrs >= (int)(SSRC_TABLE / 4 * 3)) {
        memset(g_srs, 0, SSRC_TABLE * sizeof *g_srs);
        g_nsrs = 0;
        return sr_ref(ssrc, 1);
      }
      memset(r, 0, sizeof *r);
      r->used = 1;
      r->ssrc = ssrc;
      r->rtt_ms = NAN;
      g_nsrs++;
      return r;
    }
  }
}

/* ---------------- streams, scoring and reports ---------------- */

static char g_node[64]; /* the probe's node name: the host name */
/* Per stream slot: the call (-1 none), the report schedule, and what the scoring keeps (qos-state.ts). */
typedef struct {
  int call, active, reported, side, dir; /* side: the party whose SDP the stream is bound by (0 the caller) */
  int binding; /* the binding the stream was attached by, -1 none */
  uint32_t ssrc;
  char call_id[128]; /* kept for the stream's reports after its call's record goes */
  double ie, bpl;
  char codec[16];
  double due_ms, end_ms; /* end_ms: an RTCP BYE ends it then (0: not ended by one) */
  uint32_t count;
  double sum_weight, sum_r, sum_mos, sum_net_mos, sum_mos_b[3], sum_r_b[3];
  double last_r, last_mos, last_net_mos, last_mos_b[3], last_r_b[3], last_ie_eff, last_id, last_loss_pct, last_burst_r;
  double min_r, min_mos, worst_start_ms, worst_end_ms;
  double unit_mos, unit_r, unit_weight, unit_span_ms, unit_start_ms, unit_end_ms;
  double final_mos[3];
  /* Pauses (report/silences.ts): the last packet before the pause in progress (0 none), the counts and mean
   * spacing then, the interval's largest inter-arrival time then; whether its ALERT went out; the silences
   * completed (count, total and longest ms); ONE_WAY_RTP. */
  double pause_from_ms, expected_at, packets_at, spacing_ms, max_delta_at;
  int alerted, one_way;
  uint32_t silences;
  double silence_ms, max_silence_ms;
} slot_state_t;

static slot_state_t *g_slots;
static int g_slot_limit;

/* G.113 Appendix I figures of the configuration's codec table (qos.codecs), by encoding name. */
static void codec_params(const char *name, double *ie, double *bpl) {
  char n[16];
  int k = 0;
  for (const char *p = name; *p && k < 15; p++) if ((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'Z')) n[k++] = (char)lower(*p);
  n[k] = 0;
  *ie = 0;
  *bpl = 25.1; /* G.711 with PLC: the default */
  if (strncmp(n, "g729", 4) == 0) *ie = 11, *bpl = 19.0;
  else if (strncmp(n, "g723", 4) == 0) *ie = 15, *bpl = 16.1;
  else if (strcmp(n, "gsm") == 0) *ie = 20, *bpl = 10;
  else if (strcmp(n, "gsmefr") == 0 || strcmp(n, "amr") == 0) *ie = 5, *bpl = 10.0;
  else if (strncmp(n, "g726", 4) == 0 || strcmp(n, "g728") == 0) *ie = 7, *bpl = 4.3;
}

void calls_stream_started(int slot, const uint32_t *key, int pt, double now_ms) {
  slot_state_t *s = &g_slots[slot];
  memset(s, 0, sizeof *s);
  s->call = -1;
  s->binding = -1;
  s->active = 1;
  s->ssrc = key[9];
  s->due_ms = now_ms + INTERVAL_MS;
  if (slot >= g_slot_limit) g_slot_limit = slot + 1;
  int32_t v = bind_find(key + 4, (int)(key[8] & 0xffff)); /* the receiver's SDP, else the sender's */
  int by_destination = v >= 0;
  if (v < 0) v = bind_find(key, (int)(key[8] >> 16));
  snprintf(s->codec, sizeof s->codec, "%s", "");
  if (v >= 0) {
    const binding_t *b = &g_bindings[v / 2];
    call_t *k = &g_calls[b->call];
    s->call = b->call;
    s->binding = v / 2;
    s->dir = by_destination ? 0 : 1; /* as the probe's DIR: 0 when the receiver's SDP names the stream */
    s->side = b->side;
    memcpy(s->call_id, k->call_id, sizeof s->call_id);
    if (k->nstreams < CALL_STREAMS) k->streams[k->nstreams++] = slot;
    for (int i = 0; i < b->sdp.nformats; i++) if (b->sdp.formats[i].pt == pt) snprintf(s->codec, sizeof s->codec, "%s", b->sdp.formats[i].name);
    g_counts.attached++;
  }
  if (s->codec[0] == 0) {
    format_t f;
    static_format(pt, &f);
    snprintf(s->codec, sizeof s->codec, "%s", f.name);
  }
  for (char *p = s->codec; *p; p++) *p = (char)lower((unsigned char)*p); /* the probe reports names in lower case */
  codec_params(s->codec, &s->ie, &s->bpl);
}

/* src/qos/emodel.ts */
static double delay_impairment(double d) {
  if (!(d > 0)) d = 0;
  return 0.024 * d + (d > 177.3 ? 0.11 * (d - 177.3) : 0);
}

static double mos_from_r(double r) {
  if (!(r > 0)) return 1;
  if (r >= 100) return 4.5;
  double mos = 1 + 0.035 * r + r * (r - 60) * (100 - r) * 7e-6;
  return mos < 1 ? 1 : mos > 4.5 ? 4.5 : mos;
}

static double r_factor(double loss_pct, double burst_r, double delay_ms, double ie, double bpl, double *ie_eff, double *id) {
  *id = delay_impairment(delay_ms);
  double ppl = loss_pct > 0 ? (loss_pct > 100 ? 100 : loss_pct) : 0;
  double br = burst_r > 0 && isfinite(burst_r) ? burst_r : 1;
  *ie_eff = ie + ((95 - ie) * ppl) / (ppl / br + bpl);
  return R_DEFAULT - *id - *ie_eff;
}

/* Latest round trip of the probe with the receiver of the stream sent by `ssrc`, NaN when none. */
static double rtt_of(uint32_t ssrc) {
  const sr_ref_t *r = sr_ref(ssrc, 0);
  return r ? r->rtt_ms : NAN;
}

/* Network one-way delay (qos/delay.ts): the round trips of the call's two paths (probe to callee side,
 * probe to caller side), each from the first of the call's streams in that direction with one measured,
 * halved; the nominal 0 ms when none is measured. A stream with no call counts its own path only. */
static double network_delay_ms(const slot_state_t *s, int *measured) {
  double path[2] = {NAN, NAN};
  if (s->call < 0) {
    path[0] = rtt_of(s->ssrc);
  } else {
    const call_t *k = &g_calls[s->call];
    for (int i = 0; i < k->nstreams; i++) {
      const slot_state_t *o = &g_slots[k->streams[i]];
      if (!o->active) continue;
      int d = (o->dir == 0) == (o->side == 1) ? 0 : 1; /* report/call-faults.ts mediaDirection */
      if (isnan(path[d])) path[d] = rtt_of(o->ssrc);
    }
  }
  double sum = 0;
  *measured = 0;
  for (int i = 0; i < 2; i++) if (path[i] >= 0) sum += path[i], ++*measured;
  return *measured > 0 ? sum / 2 : 0;
}

/* qos-state.ts record(): means weighed by expected packets, the lowest over units (fragments folded in). */
static void record_period(slot_state_t *s, double r, double mos, double weight, double start_ms, double end_ms) {
  uint32_t n = s->count;
  s->sum_r += r * weight;
  s->sum_mos += mos * weight;
  s->sum_weight += weight;
  s->last_r = r;
  s->last_mos = mos;
  s->count = n + 1;
  double span = end_ms - start_ms > 0 ? end_ms - start_ms : 0;
  int provisional = n == 0 || s->unit_span_ms < FRAGMENT_MS;
  if (n > 0 && (span < FRAGMENT_MS || s->unit_span_ms < FRAGMENT_MS)) {
    double w = s->unit_weight, sum = w + weight;
    s->unit_mos = (s->unit_mos * w + mos * weight) / sum;
    s->unit_r = (s->unit_r * w + r * weight) / sum;
    s->unit_weight = sum;
    s->unit_span_ms += span;
    s->unit_end_ms = end_ms;
  } else {
    s->unit_mos = mos;
    s->unit_r = r;
    s->unit_weight = weight;
    s->unit_span_ms = span;
    s->unit_start_ms = start_ms;
    s->unit_end_ms = end_ms;
  }
  if (provisional || s->unit_mos < s->min_mos) {
    s->min_mos = s->unit_mos;
    s->worst_start_ms = s->unit_start_ms;
    s->worst_end_ms = s->unit_end_ms;
  }
  if (provisional || s->unit_r < s->min_r) s->min_r = s->unit_r;
}

/* One interval scored from its own loss (qos-state.ts assessInterval): network only and through each buffer. */
static void assess(slot_state_t *s, const stream_interval_t *iv) {
  if (!(iv->expected > 0)) return;
  g_counts.intervals++;
  double weight = iv->expected;
  double loss_pct = iv->expected > 0 && iv->lost > 0 ? (100 * iv->lost) / iv->expected : 0;
  double burst_r = iv->burst_r > 0 && isfinite(iv->burst_r) ? iv->burst_r : 1;
  int measured;
  double delay = network_delay_ms(s, &measured), ie_eff, id;
  double r = r_factor(loss_pct, burst_r, delay, s->ie, s->bpl, &ie_eff, &id), mos = mos_from_r(r);
  s->last_net_mos = mos;
  s->sum_net_mos += mos * weight;
  double main_loss = loss_pct, main_br = burst_r;
  if (iv->jb) {
    double lost = iv->lost > 0 ? iv->lost : 0;
    for (int b = 0; b < 3; b++) {
      double eff = (100 * (lost + iv->jb_discards[b])) / iv->expected;
      if (eff > 100) eff = 100;
      double br = iv->jb_burst_r[b] > 0 && isfinite(iv->jb_burst_r[b]) ? iv->jb_burst_r[b] : 1;
      double ie_b, id_b;
      double rb = r_factor(eff, br, delay, s->ie, s->bpl, &ie_b, &id_b), mb = mos_from_r(rb);
      s->last_mos_b[b] = mb;
      s->last_r_b[b] = rb;
      s->sum_mos_b[b] += mb * weight;
      s->sum_r_b[b] += rb * weight;
      if (b == JB_REF) r = rb, mos = mb, ie_eff = ie_b, id = id_b, main_loss = eff, main_br = br;
    }
  }
  record_period(s, r, mos, weight, iv->start_ms, iv->end_ms);
  s->last_ie_eff = ie_eff;
  s->last_id = id;
  s->last_loss_pct = main_loss;
  s->last_burst_r = main_br;
}

/* JSON text helpers: numbers of three decimals as the probe's round3, strings escaped. */
typedef struct { char *p; size_t n, cap; } text_t;

static void put(text_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#include <stdarg.h>
static void put(text_t *t, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int k = vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
  va_end(ap);
  if (k > 0) t->n = t->n + (size_t)k < t->cap ? t->n + (size_t)k : t->cap - 1;
}

/* "key":value, with the value rounded to three decimals and written as JSON.stringify writes the probe's
 * round3 numbers (no trailing zeros): from integer thousandths, without printf's general float path. */
static void num(text_t *t, const char *k, double v) {
  char d[32];
  int n = 0;
  double m = isfinite(v) ? round(fabs(v) * 1000) : 0;
  if (m >= 9e15) { put(t, "\"%s\":%.17g,", k, v); return; } /* beyond exact thousandths: none in a report */
  long long q = (long long)m;
  int frac = (int)(q % 1000), trailing = 3;
  while (trailing > 0 && frac % 10 == 0 && frac != 0) frac /= 10, trailing--;
  if (frac == 0) trailing = 0;
  for (int i = 0; i < trailing; i++) d[n++] = (char)('0' + frac % 10), frac /= 10;
  if (trailing) d[n++] = '.';
  q /= 1000;
  do d[n++] = (char)('0' + q % 10), q /= 10; while (q > 0);
  if (v < 0 && m > 0) d[n++] = '-';
  size_t kn = strlen(k);
  if (t->n + kn + (size_t)n + 4 >= t->cap) return;
  t->p[t->n++] = '"';
  memcpy(t->p + t->n, k, kn);
  t->n += kn;
  t->p[t->n++] = '"';
  t->p[t->n++] = ':';
  while (n > 0) t->p[t->n++] = d[--n];
  t->p[t->n++] = ',';
}

/* Raw bytes (a key, punctuation), when they fit. */
static void raw(text_t *t, const char *s, size_t n) {
  if (t->n + n >= t->cap) return;
  memcpy(t->p + t->n, s, n);
  t->n += n;
}

static void text(text_t *t, const char *k, const char *v) {
  raw(t, "\"", 1);
  raw(t, k, strlen(k));
  raw(t, "\":\"", 3);
  for (const char *p = v; *p && t->n + 4 < t->cap; p++) {
    if (*p == '"' || *p == '\\') t->p[t->n++] = '\\';
    t->p[t->n++] = *p;
  }
  raw(t, "\",", 2);
}

static void ip_string(const uint32_t *w, char *out, size_t cap) {
  if (w[0] == 0 && w[1] == 0 && w[2] == 0xffff) {
    struct in_addr a = {htonl(w[3])};
    inet_ntop(AF_INET, &a, out, (socklen_t)cap);
  } else {
    struct in6_addr a;
    for (int i = 0; i < 4; i++) a.s6_addr[4 * i] = (uint8_t)(w[i] >> 24), a.s6_addr[4 * i + 1] = (uint8_t)(w[i] >> 16), a.s6_addr[4 * i + 2] = (uint8_t)(w[i] >> 8), a.s6_addr[4 * i + 3] = (uint8_t)w[i];
    inet_ntop(AF_INET6, &a, out, (socklen_t)cap);
  }
}

static double mean_of(double sum, double w) { return w > 0 ? sum / w : 0; }

/* A stream's report as JSON text: the fields of src/report/fields.ts and jb-fields.ts that this scenario
 * fills. `type` NULL: its final report (HANGUP when its call ended, else FINAL); else a fault's ALERT or
 * CLEARED of rule `rule`, with the pause's length for rule silence. */
static size_t build_report(int slot, const slot_state_t *s, const stream_summary_t *u, double now_ms, const char *type, const char *rule, double pause_ms, char *buf, size_t cap) {
  text_t t = {buf, 0, cap};
  const call_t *k = s->call >= 0 ? &g_calls[s->call] : NULL;
  char src[64], dst[64], sid[32];
  ip_string(u->key, src, sizeof src);
  ip_string(u->key + 4, dst, sizeof dst);
  if (k == NULL) snprintf(sid, sizeof sid, "synthetic-%d", slot);
  else sid[0] = 0;
  raw(&t, "{", 1);
  text(&t, "CORRELATION_ID", k ? k->call_id : sid);
  text(&t, "RTP_SIP_CALL_ID", k ? k->call_id : "");
  num(&t, "REPORT_TS", now_ms / 1000);
  text(&t, "TYPE", type ? type : k && k->state >= C_ENDED ? "HANGUP" : "FINAL");
  if (rule) text(&t, "ALERT_RULE", rule);
  num(&t, "SSRC", u->key[9]);
  text(&t, "SRC_IP", src);
  num(&t, "SRC_PORT", u->key[8] >> 16);
  text(&t, "DST_IP", dst);
  num(&t, "DST_PORT", u->key[8] & 0xffff);
  num(&t, "CODEC_PT", u->pt);
  text(&t, "CODEC_NAME", s->codec);
  num(&t, "CLOCK", u->clock);
  char mac[2][18], name[80];
  for (int m = 0; m < 2; m++) {
    static const char hex[] = "0123456789abcdef";
    for (int i = 0; i < 6; i++) mac[m][3 * i] = hex[u->macs[6 * m + i] >> 4], mac[m][3 * i + 1] = hex[u->macs[6 * m + i] & 15], mac[m][3 * i + 2] = '-';
    mac[m][17] = 0;
  }
  text(&t, "SRC_MAC", mac[0]);
  text(&t, "DST_MAC", mac[1]);
  text(&t, "CLOCK_SOURCE", s->call >= 0 ? "sdp" : "static");
  num(&t, "DIR", s->dir);
  num(&t, "PARTY", s->side);
  snprintf(name, sizeof name, "%s:%u", src, u->key[8] >> 16);
  text(&t, "REPORT_NAME", name);
  text(&t, "NODE", g_node);
  num(&t, "HOST_TIMESTAMPS", 0);
  num(&t, "TOTAL_PK", u->packets);
  num(&t, "EXPECTED_PK", u->expected);
  num(&t, "PACKET_LOSS", u->lost > 0 ? u->lost : 0);
  num(&t, "PACKET_LOSS_PCT", u->expected > 0 && u->lost > 0 ? 100 * u->lost / u->expected : 0);
  num(&t, "SEQ", u->seq_errors);
  num(&t, "OUT_ORDER", u->out_of_order);
  num(&t, "DUPLICATES", u->duplicates);
  num(&t, "SSRC_CHG", 0);
  num(&t, "PT_CHG", u->pt_changes);
  num(&t, "TL_BYTE", u->bytes);
  num(&t, "DELTA", u->mean_delta);
  num(&t, "MIN_DELTA", u->min_delta);
  num(&t, "MAX_DELTA", u->max_delta);
  num(&t, "JITTER", u->jitter);
  num(&t, "MIN_JITTER", u->min_jitter);
  num(&t, "MAX_JITTER", u->max_jitter);
  num(&t, "MEAN_JITTER", u->mean_jitter);
  num(&t, "SKEW", u->skew);
  num(&t, "MAX_SKEW", u->max_skew);
  num(&t, "CLOCK_DRIFT_PPM", u->drift_ppm);
  num(&t, "BURST_R", u->burst_r);
  num(&t, "BURST_DENSITY", u->burst_density);
  num(&t, "GAP_DENSITY", u->gap_density);
  double w = s->sum_weight;
  num(&t, "MOS", mean_of(s->sum_mos, w));
  num(&t, "MIN_MOS", s->min_mos);
  num(&t, "MEAN_MOS", mean_of(s->sum_mos, w));
  num(&t, "LAST_MOS", s->last_mos);
  num(&t, "RFACTOR", mean_of(s->sum_r, w));
  num(&t, "MIN_RFACTOR", s->min_r);
  num(&t, "MEAN_RFACTOR", mean_of(s->sum_r, w));
  num(&t, "LAST_RFACTOR", s->last_r);
  num(&t, "MOS_INTERVALS", s->count);
  num(&t, "WORST_MOS", s->min_mos);
  num(&t, "WORST_MOS_START", s->worst_start_ms / 1000);
  num(&t, "WORST_MOS_END", s->worst_end_ms / 1000);
  num(&t, "IE_EFF", s->last_ie_eff);
  num(&t, "ID", s->last_id);
  int measured;
  double net = network_delay_ms(s, &measured);
  num(&t, "ONE_WAY_DELAY", net);
  text(&t, "DELAY_SOURCE", measured ? "rtcp" : "nominal");
  num(&t, "NETWORK_DELAY", net);
  num(&t, "DELAY_LEGS", 1);
  num(&t, "DELAY_PATHS", 2);
  num(&t, "DELAY_PATHS_MEASURED", measured);
  num(&t, "BUFFER_DELAY", 0);
  text(&t, "BUFFER_DELAY_SOURCE", "assumed");
  num(&t, "MOS_NET", mean_of(s->sum_net_mos, w));
  static const char *keys[3][4] = {
      {"MOS_F1", "RFACTOR_F1", "DISCARDS_F1", "EFF_LOSS_PCT_F1"},
      {"MOS_F2", "RFACTOR_F2", "DISCARDS_F2", "EFF_LOSS_PCT_F2"},
      {"MOS_ADAPT", "RFACTOR_ADAPT", "DISCARDS_ADAPT", "EFF_LOSS_PCT_ADAPT"},
  };
  for (int b = 0; b < 3; b++) {
    num(&t, keys[b][0], u->jb ? s->final_mos[b] : 0);
    num(&t, keys[b][1], u->jb ? mean_of(s->sum_r_b[b], w) : 0);
    num(&t, keys[b][2], u->jb_discards[b]);
    num(&t, keys[b][3], u->expected > 0 ? fmin(100, 100 * ((u->lost > 0 ? u->lost : 0) + u->jb_discards[b]) / u->expected) : 0);
  }
  text(&t, "JB_REFERENCE", "adaptive");
  num(&t, "JB_ADAPT_DELAY", u->jb_adapt_delay_ms);
  num(&t, "JB_ADAPT_MAX", u->jb_adapt_max_ms);
  num(&t, "XR_LOSS_RATE", u->expected > 0 && u->lost > 0 ? 100 * u->lost / u->expected : 0);
  num(&t, "XR_DISCARD_RATE", u->expected > 0 ? 100 * u->jb_discards[JB_REF] / u->expected : 0);
  num(&t, "XR_BURST_DENSITY", 100 * u->burst_density);
  num(&t, "XR_GAP_DENSITY", 100 * u->gap_density);
  num(&t, "XR_BURST_DURATION", u->burst_duration_ms);
  num(&t, "XR_GAP_DURATION", u->gap_duration_ms);
  num(&t, "XR_JB_NOMINAL", 20);
  num(&t, "XR_JB_MAX", u->jb_adapt_max_ms);
  num(&t, "XR_JB_ABS_MAX", 500);
  num(&t, "XR_R", s->last_r < 0 ? 0 : s->last_r > 100 ? 100 : s->last_r); /* RFC 3611 0..100, as jb-fields.ts */
  num(&t, "XR_MOS_LQ", mos_from_r(s->last_r + s->last_id));
  num(&t, "XR_MOS_CQ", mos_from_r(R_DEFAULT - delay_impairment(net) - s->last_ie_eff));
  num(&t, "XR_RTD", measured ? 2 * net : 0);
  num(&t, "REPORT_START", u->first_ms / 1000);
  num(&t, "REPORT_END", u->last_ms / 1000);
  num(&t, "RTP_START", u->first_ms / 1000);
  num(&t, "RTP_STOP", u->last_ms / 1000);
  num(&t, "ONE_WAY_RTP", s->one_way);
  num(&t, "SILENCES", s->silences);
  num(&t, "SILENCE_MS", s->silence_ms);
  num(&t, "MAX_SILENCE_MS", s->max_silence_ms);
  num(&t, "CURRENT_SILENCE_MS", pause_ms);
  num(&t, "CAPTURE_DROPS", 0);
  num(&t, "PERIOD_CAPTURE_DROPS", 0);
  num(&t, "VLAN", -1);
  num(&t, "SYNTHETIC_ID", k ? 0 : 1);
  if (t.n > 0 && t.p[t.n - 1] == ',') t.n--;
  raw(&t, "}", 1);
  return t.n;
}

static char g_report[8192];

/* The stream ends: its last interval scored, its final report built. */
static void stream_end(int slot, double now_ms) {
  slot_state_t *s = &g_slots[slot];
  if (!s->active) return;
  stream_interval_t iv;
  stream_summary_t u;
  stream_interval(slot, &iv);
  stream_summary(slot, &u);
  assess(s, &iv);
  s->active = 0;
  s->reported = 1;
  for (int b = 0; b < 3; b++) s->final_mos[b] = mean_of(s->sum_mos_b[b], s->sum_weight);
  size_t n = build_report(slot, s, &u, now_ms, NULL, NULL, 0, g_report, sizeof g_report);
  g_counts.reports++;
  g_counts.report_bytes += n;
}

/* ---------------- media faults (src/pipeline/media-faults.ts) ---------------- */

static const char *const FAULT_RULE_NAMES[FAULT_RULES] = {"silence", "one-way-rtp", "no-media"};

/* A fault's ALERT (`cleared` 0) or CLEARED on a stream: the stream's report, as the probe's faultReport makes it. */
static void stream_fault_report(int slot, double now_ms, int cleared, int rule, double pause_ms) {
  stream_summary_t u;
  stream_summary(slot, &u);
  size_t n = build_report(slot, &g_slots[slot], &u, now_ms, cleared ? "CLEARED" : "ALERT", FAULT_RULE_NAMES[rule], pause_ms, g_report, sizeof g_report);
  g_counts.report_bytes += n;
  g_counts.faults[rule][cleared]++;
}

/* The SDP of binding `b` holds its media (a=sendonly / recvonly / inactive, or c=0.0.0.0). */
static int binding_held(const binding_t *b) {
  return b->sdp.direction != 0 || (b->ip[0] == 0 && b->ip[1] == 0 && b->ip[2] == 0xffff && b->ip[3] == 0);
}

/* The other side's binding of the same m-line holds it (MediaBinding.peerHeld). */
static int peer_held(const binding_t *b) {
  const call_t *k = &g_calls[b->call];
  for (int i = 0; i < k->nbindings; i++) {
    const binding_t *o = &g_bindings[k->bindings[i]];
    if (o->side != b->side && o->media == b->media) return binding_held(o);
  }
  return 0;
}

/* The binding of an audio stream of a call, NULL when none (the call faults watch audio). */
static const binding_t *audio_binding(const slot_state_t *s) {
  if (s->binding < 0 || s->call < 0) return NULL;
  const binding_t *b = &g_bindings[s->binding];
  return b->used && b->call == s->call && b->sdp.audio ? b : NULL;
}

/* report/call-faults.ts mediaDirection: 0 caller to callee, 1 callee to caller. */
static int media_direction(const slot_state_t *s) { return (s->dir == 0) == (s->side == 1) ? 0 : 1; }

/* Audio of an answered call both sides' SDP have flowing both ways: due without a break. */
static int media_due(const slot_state_t *s) {
  const binding_t *b = audio_binding(s);
  return b != NULL && b->sdp.direction == 0 && !binding_held(b) && !peer_held(b) && g_calls[b->call].state == C_CONFIRMED;
}

/* Another audio stream of the same binding and direction carried on after `last_ms` (replacedOnBinding). */
static int replaced_on_binding(int slot, const slot_state_t *s, double last_ms) {
  const call_t *k = &g_calls[s->call];
  int dir = media_direction(s);
  for (int i = 0; i < k->nstreams; i++) {
    int o = k->streams[i];
    const slot_state_t *x = &g_slots[o];
    if (o != slot && x->active && x->binding == s->binding && media_direction(x) == dir && stream_last_ms(o) > last_ms && audio_binding(x)) return 1;
  }
  return 0;
}

/* A pause of the stream is paged (silenceDue): its media is due, it did not go quiet on comfort noise, and no
 * other stream took its place. */
static int silence_due(int slot, const slot_state_t *s, double last_ms) {
  return media_due(s) && !stream_last_was_cn(slot) && !replaced_on_binding(slot, s, last_ms);
}

/* The pause ends: a silence when the packets missing across it would fill less than half of it, else loss
 * (StreamSilences.resumed). Returns the pause's length. */
static double pause_end(slot_state_t *s, double last_ms, const stream_activity_t *a) {
  double from = s->pause_from_ms, spacing = s->spacing_ms;
  double received = a->packets - s->packets_at;
  double missing = a->expected - s->expected_at - received;
  double floor_ms = fmin(SILENCE_MS, last_ms - from), pause_ms;
  int only_the_pause = a->iv_start_ms > from || s->max_delta_at < floor_ms;
  if (only_the_pause && a->iv_max_delta >= floor_ms && from + a->iv_max_delta <= last_ms + 1e-6) pause_ms = a->iv_max_delta;
  else pause_ms = fmax(last_ms - (received > 1 ? (received - 1) * spacing : 0) - from, floor_ms);
  s->pause_from_ms = 0;
  if (missing * spacing >= pause_ms / 2) return pause_ms;
  s->silences++;
  s->silence_ms += pause_ms;
  if (pause_ms > s->max_silence_ms) s->max_silence_ms = pause_ms;
  g_counts.silences++;
  return pause_ms;
}

/* One stream's check at a tick (checkStream): its pause's start or end, and its audio for the call's checks.
 * Not mirrored: the page of a pause that began on hold once the resume is silence_s old, a newer SSRC on the
 * stream's 5-tuple, repair streams, B2BUA legs sharing media. */
static void check_stream(int slot, slot_state_t *s, double now_ms) {
  double last = stream_last_ms(slot);
  if (s->pause_from_ms == 0 && last > 0 && now_ms - last >= SILENCE_MS) {
    stream_activity_t a;
    stream_activity(slot, &a);
    s->pause_from_ms = last;
    s->expected_at = a.expected;
    s->packets_at = a.packets;
    s->spacing_ms = a.mean_delta > 0 ? a.mean_delta : 20;
    s->max_delta_at = a.iv_packets > 0 ? a.iv_max_delta : 0;
    g_counts.pauses++;
    if (silence_due(slot, s, last)) {
      stream_fault_report(slot, now_ms, 0, FAULT_SILENCE, now_ms - last);
      s->alerted = 1;
    }
  } else if (s->pause_from_ms > 0 && last > s->pause_from_ms) {
    stream_activity_t a;
    stream_activity(slot, &a);
    double pause_ms = pause_end(s, last, &a);
    if (s->alerted) {
      s->alerted = 0;
      stream_fault_report(slot, now_ms, 1, FAULT_SILENCE, pause_ms);
    }
  }
  if (g_nwatch == 0) return;
  const binding_t *b = audio_binding(s);
  if (b == NULL) return;
  call_t *k = &g_calls[b->call];
  /* CallFaults.media: audio in this direction, counted from the time media became due. */
  double *heard = &k->heard_ms[media_direction(s)];
  if (k->watch_pos >= 0 && last >= k->due_from_ms && last > *heard) *heard = last;
}

/* The call's SDP makes one-way or no media intended (hold, sendonly, inactive), or binds no audio. */
static int call_exempt(const call_t *k) {
  int audio = 0;
  for (int i = 0; i < k->nbindings; i++) {
    const binding_t *b = &g_bindings[k->bindings[i]];
    if (!b->sdp.audio) continue;
    if (binding_held(b)) return 1;
    audio = 1;
  }
  return !audio;
}

/* The first audio address the SDP of `side` bound, "" when none. */
static void side_address(const call_t *k, int side, char *ip, size_t cap, int *port) {
  ip[0] = 0;
  *port = 0;
  for (int i = 0; i < k->nbindings; i++) {
    const binding_t *b = &g_bindings[k->bindings[i]];
    if (b->side != side || !b->sdp.audio) continue;
    ip_string(b->ip, ip, cap);
    *port = b->port;
    return;
  }
}

/* The call's no-media ALERT or CLEARED (NoMediaReports): the call and the SDP addresses media was due between. */
static void call_fault_report(int c, int cleared, double now_ms) {
  const call_t *k = &g_calls[c];
  char caller[64], callee[64], buf[1024];
  int caller_port, callee_port;
  side_address(k, 0, caller, sizeof caller, &caller_port);
  side_address(k, 1, callee, sizeof callee, &callee_port);
  int n = snprintf(buf, sizeof buf,
                   "{\"CORRELATION_ID\":\"%s\",\"RTP_SIP_CALL_ID\":\"%s\",\"TYPE\":\"%s\",\"ALERT_RULE\":\"no-media\",\"NO_MEDIA\":%d,\"REPORT_TS\":%.3f,"
                   "\"CALLER_IP\":\"%s\",\"CALLER_PORT\":%d,\"CALLEE_IP\":\"%s\",\"CALLEE_PORT\":%d,\"DUE_FROM\":%.3f,\"NODE\":\"%s\"}",
                   k->call_id, k->call_id, cleared ? "CLEARED" : "ALERT", !cleared, now_ms / 1000, caller, caller_port, callee, callee_port, k->due_from_ms / 1000, g_node);
  g_counts.report_bytes += (uint64_t)n;
  g_counts.faults[FAULT_NO_MEDIA][cleared]++;
}

/* A one-way fault of the call in direction `dir` starts (1) or ends (0) on its audio streams that way. */
static void one_way_streams(const call_t *k, int dir, int on, double now_ms) {
  for (int i = 0; i < k->nstreams; i++) {
    int slot = k->streams[i];
    slot_state_t *s = &g_slots[slot];
    if (!s->active || audio_binding(s) == NULL || media_direction(s) != dir || s->one_way == on) continue;
    s->one_way = on;
    stream_fault_report(slot, now_ms, !on, FAULT_ONE_WAY, 0);
  }
}

/* The answered calls' checks (CallFaults.check): no-media, then one-way. */
static void check_calls(double now_ms) {
  for (int i = g_nwatch - 1; i >= 0; i--) {
    int c = g_watch[i];
    call_t *k = &g_calls[c];
    double since = now_ms - k->due_from_ms;
    int heard0 = k->heard_ms[0] > 0, heard1 = k->heard_ms[1] > 0;
    int exempt = -1; /* asked only where it decides something: -1 not asked yet */
    if (k->no_media) {
      if (heard0 || heard1 || (exempt = call_exempt(k)) == 1) {
        k->no_media = 0;
        call_fault_report(c, 1, now_ms);
      }
    } else if (!heard0 && !heard1 && since >= NO_MEDIA_MS && (exempt = call_exempt(k)) == 0) {
      k->no_media = 1;
      call_fault_report(c, 0, now_ms);
    }
    int live0 = heard0 && now_ms - k->heard_ms[0] < ONE_WAY_MS, live1 = heard1 && now_ms - k->heard_ms[1] < ONE_WAY_MS;
    if (live0 != live1 && exempt < 0) exempt = call_exempt(k);
    int flowing = live0 != live1 && exempt == 0 ? (live0 ? 0 : 1) : -1;
    if (k->one_way_dir >= 0 && flowing != k->one_way_dir) {
      one_way_streams(k, k->one_way_dir, 0, now_ms);
      k->one_way_dir = -1;
    }
    if (k->one_way_dir < 0 && flowing >= 0 && since >= ONE_WAY_MS) {
      k->one_way_dir = flowing;
      one_way_streams(k, flowing, 1, now_ms);
    }
  }
}

/* ---------------- RTCP ---------------- */

static uint32_t rd32be(const uint8_t *p) { return ((uint32_t)p[0] << 24) | ((uint32_t)p[1] << 16) | ((uint32_t)p[2] << 8) | p[3]; }

/* One direction of a UDP path, as one word (an SR's path compared with the reverse of an RR's). */
static uint32_t path_of(const uint32_t *from, int from_port, const uint32_t *to, int to_port) {
  uint32_t h = 2166136261u;
  for (int i = 0; i < 4; i++) h = (h ^ from[i]) * 16777619u, h = (h ^ to[i]) * 16777619u;
  return (h ^ ((uint32_t)from_port << 16 | (uint32_t)to_port)) * 16777619u;
}

/* Report blocks of an SR or RR that came over `path` (reversed: the path its referenced SR took). */
static void report_blocks(const uint8_t *p, int count, const uint8_t *end, uint32_t reverse_path, double now_ms) {
  for (int i = 0; i < count && p + 24 <= end; i++, p += 24) {
    uint32_t source = rd32be(p), lsr = rd32be(p + 16), dlsr = rd32be(p + 20);
    if (lsr == 0) continue;
    sr_ref_t *r = sr_ref(source, 0);
    if (r == NULL) continue;
    int k = -1; /* the latest matching reference */
    for (int j = 0; j < SR_RING; j++) {
      int q = (r->next - 1 - j + 2 * SR_RING) % SR_RING;
      if (r->seen_ms[q] > 0 && r->mid[q] == lsr && r->path[q] == reverse_path) { k = q; break; }
    }
    if (k < 0) continue;
    double rtt = now_ms - r->seen_ms[k] - (dlsr * 1000.0) / 65536;
    if (rtt < -1) continue; /* DLSR's 15 us resolution tolerated, worse refused */
    r->rtt_ms = rtt < 0 ? 0 : rtt;
    g_counts.rtts++;
  }
}

/* An RTCP BYE ends the sender's stream after the linger (trailing packets still join it). */
static void rtcp_bye(uint32_t ssrc, int c, double now_ms) {
  if (c < 0) return;
  call_t *k = &g_calls[c];
  for (int i = 0; i < k->nstreams; i++) {
    slot_state_t *s = &g_slots[k->streams[i]];
    if (s->active && s->ssrc == ssrc && s->end_ms == 0) s->end_ms = now_ms + LINGER_MS;
  }
}

void calls_on_rtcp(const uint8_t *b, size_t len, const uint32_t *src, int sport, const uint32_t *dst, int dport, double now_ms) {
  /* The call: the RTCP address of the receiver's SDP, else the sender's. */
  int32_t v = bind_find(dst, dport);
  if (v < 0) v = bind_find(src, sport);
  int c = v >= 0 ? g_bindings[v / 2].call : -1;
  uint32_t path = path_of(src, sport, dst, dport), reverse = path_of(dst, dport, src, sport);
  const uint8_t *p = b, *end = b + len;
  int ok = 0;
  /* Report blocks first, then the SRs as references: a compound never matches itself. */
  for (const uint8_t *q = b; q + 4 <= end && (q[0] >> 6) == 2;) {
    const uint8_t *next = q + 4 + 4 * (size_t)((q[2] << 8) | q[3]);
    if (next > end) break;
    if (q[1] == 200 && q + 28 <= next) report_blocks(q + 28, q[0] & 31, next, reverse, now_ms);
    else if (q[1] == 201 && q + 8 <= next) report_blocks(q + 8, q[0] & 31, next, reverse, now_ms);
    q = next;
  }
  while (p + 4 <= end) {
    if ((p[0] >> 6) != 2) break;
    int count = p[0] & 31, pt = p[1];
    const uint8_t *next = p + 4 + 4 * (size_t)((p[2] << 8) | p[3]);
    if (next > end) break;
    ok = 1;
    if (pt == 200 && p + 28 <= next) { /* SR: its sender info is a reference */
      sr_ref_t *r = sr_ref(rd32be(p + 4), 1);
      r->mid[r->next] = (rd32be(p + 8) << 16) | (rd32be(p + 12) >> 16);
      r->seen_ms[r->next] = now_ms;
      r->path[r->next] = path;
      r->next = (r->next + 1) % SR_RING;
    } else if (pt == 202) { /* SDES: chunks of SSRC + items, each chunk ends with a zero and pads to 4 */
      const uint8_t *q = p + 4;
      for (int i = 0; i < count && q + 4 <= next; i++) {
        uint32_t ssrc = rd32be(q);
        q += 4;
        while (q < next && *q != 0) {
          if (q + 2 > next || q + 2 + q[1] > next) { q = next; break; }
          if (q[0] == 1) { /* CNAME */
            sr_ref_t *r = sr_ref(ssrc, 1);
            int n = q[1] < 63 ? q[1] : 63;
            memcpy(r->cname, q + 2, (size_t)n);
            r->cname[n] = 0;
          }
          q += 2 + q[1];
        }
        q += 4 - ((q - p) & 3); /* the terminating zero and padding */
      }
    } else if (pt == 203) {
      for (int i = 0; i < count && p + 8 + 4 * i <= next; i++) rtcp_bye(rd32be(p + 4 + 4 * i), c, now_ms);
    }
    p = next;
  }
  if (ok) g_counts.rtcp++;
  else g_counts.rtcp_bad++;
}

/* ---------------- schedule ---------------- */

void calls_tick(double now_ms) {
  /* Calls whose linger is over: their streams end, their bindings and records go. */
  while (g_linger_head >= 0 && g_calls[g_linger_head].retire_ms <= now_ms) {
    int c = g_linger_head;
    call_t *k = &g_calls[c];
    g_linger_head = k->next_lingering;
    if (g_linger_head < 0) g_linger_tail = -1;
    for (int i = 0; i < k->nstreams; i++) {
      stream_end(k->streams[i], now_ms);
      g_slots[k->streams[i]].call = -1;
    }
    while (k->nbindings > 0) binding_release(k->bindings[k->nbindings - 1]);
    uint32_t i = call_home(k->hash);
    while (g_call_table[i] != c) i = (i + 1) & (CALL_TABLE - 1);
    call_table_delete(i);
    k->used = 0;
    g_free_calls[g_nfree_calls++] = c;
  }
  int last = -1;
  for (int slot = 0; slot < g_slot_limit; slot++) {
    slot_state_t *s = &g_slots[slot];
    if (!s->active) continue;
    last = slot;
    if (s->end_ms > 0 && s->end_ms <= now_ms) { stream_end(slot, now_ms); continue; }
    check_stream(slot, s, now_ms);
    if (s->due_ms > now_ms) continue;
    stream_interval_t iv;
    stream_interval(slot, &iv);
    if (iv.packets > 0) assess(s, &iv); /* an interval without a packet is not reported */
    s->due_ms = now_ms + INTERVAL_MS;
    stream_reset_interval(slot);
  }
  g_slot_limit = last + 1;
  check_calls(now_ms);
}

void calls_finish(double now_ms) {
  for (int slot = 0; slot < g_slot_limit; slot++) if (g_slots[slot].active) stream_end(slot, now_ms);
}

/* ---------------- set-up and results ---------------- */

/* Zeroed memory, its pages touched now (calloc of a large block maps pages the first write would fault
 * in: inside the timed loop). The probe's typed arrays are zeroed when its pipeline is built. */
static void *zeroed(size_t n, size_t size) {
  void *p = malloc(n * size);
  if (p == NULL) { fprintf(stderr, "out of memory\n"); exit(1); }
  memset(p, 0, n * size);
  return p;
}

void calls_init(int max_streams) {
  if (gethostname(g_node, sizeof g_node - 1) != 0) snprintf(g_node, sizeof g_node, "rtpbench");
  g_calls = zeroed(MAX_CALLS, sizeof *g_calls);
  g_call_table = malloc(CALL_TABLE * sizeof *g_call_table);
  for (uint32_t i = 0; i < CALL_TABLE; i++) g_call_table[i] = -1;
  g_nfree_calls = 0;
  for (int i = MAX_CALLS - 1; i >= 0; i--) g_free_calls[g_nfree_calls++] = i;
  g_bindings = zeroed(MAX_BINDINGS, sizeof *g_bindings);
  g_nfree_bindings = 0;
  for (int i = MAX_BINDINGS - 1; i >= 0; i--) g_free_bindings[g_nfree_bindings++] = i;
  g_btab = zeroed(BINDING_TABLE, sizeof *g_btab);
  for (uint32_t i = 0; i < BINDING_TABLE; i++) g_btab[i].value = -1;
  g_srs = zeroed(SSRC_TABLE, sizeof *g_srs);
  g_nsrs = 0;
  g_slots = zeroed((size_t)max_streams, sizeof *g_slots);
  g_slot_limit = 0;
  g_linger_head = g_linger_tail = -1;
  g_nwatch = 0;
  memset(&g_counts, 0, sizeof g_counts);
}

void calls_free(void) {
  free(g_calls);
  free(g_call_table);
  free(g_bindings);
  free(g_btab);
  free(g_srs);
  free(g_slots);
}

/* The stream's Call-ID: kept in the slot's state when its call's record goes (at the stream's end). */
const char *calls_stream_call_id(int slot) {
  const slot_state_t *s = &g_slots[slot];
  return s->call_id;
}

int calls_stream_final_mos(int slot, double mos[3]) {
  const slot_state_t *s = &g_slots[slot];
  for (int b = 0; b < 3; b++) mos[b] = s->final_mos[b];
  return s->reported;
}

void calls_stream_silences(int slot, double out[3], int *one_way) {
  const slot_state_t *s = &g_slots[slot];
  out[0] = s->silences;
  out[1] = s->silence_ms;
  out[2] = s->max_silence_ms;
  *one_way = s->one_way;
}

calls_counts_t calls_counts(void) { return g_counts; }
