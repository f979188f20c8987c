/*
 * The per-call work of the C reference (calls.c): what the probe does besides the per-packet RTP path.
 * SIP messages parsed (request/status line, Via branch, From/To tags, Call-ID, CSeq, Contact, User-Agent,
 * Content-Type, SDP body), dialog state per Call-ID, the SDP address:port -> call binding table, each new
 * stream attached to its call, RTCP compounds parsed (SR/RR report blocks, SDES, BYE) with round-trip
 * references (LSR/DLSR), each stream's report interval scored every 10 s of capture time (E-model R and
 * MOS of src/qos/emodel.ts, network loss and through each emulated jitter buffer, as
 * src/report/qos-state.ts), and each stream's final report built as JSON text at its end (call ended +
 * linger, RTCP BYE + linger, or end of capture). Once a second of capture time the media-fault checks of
 * src/pipeline/media-faults.ts: pauses and silences per stream (report/silences.ts), one-way and no-media
 * per answered call (report/call-faults.ts), each fault's start and end a report.
 *
 * calls.c knows nothing of the RTP engine's records: rtpbench.c gives it a stream's counters through the
 * stream_* functions below.
 */
#ifndef RTPBENCH_CALLS_H
#define RTPBENCH_CALLS_H
#include <stddef.h>
#include <stdint.h>

/* One report interval of a stream (the probe's snapshot.interval and jb.interval). */
typedef struct {
  double packets, expected, lost; /* lost: expected - distinct packets (may be < 0 with duplicates) */
  double burst_r;                 /* network loss, Gilbert 1/(p+q) of the interval */
  int jb;                         /* jitter-buffer emulation on */
  double jb_discards[3], jb_burst_r[3], jb_adapt_delay_ms;
  double start_ms, end_ms; /* the interval's first and last packet, capture ms since the epoch */
} stream_interval_t;

/* Everything a final report says of a stream since its start (the probe's snapshot.cumulative). */
typedef struct {
  uint32_t key[10]; /* src words 0-3, dst words 4-7, ports (src << 16 | dst), SSRC */
  int pt, clock;
  double packets, expected, lost, seq_errors, out_of_order, duplicates, bytes, pt_changes;
  double mean_delta, min_delta, max_delta, jitter, min_jitter, max_jitter, mean_jitter, skew, max_skew, drift_ppm;
  double first_ms, last_ms; /* capture time, ms since the epoch */
  double burst_r, burst_density, gap_density, burst_duration_ms, gap_duration_ms;
  uint8_t macs[12]; /* source, destination */
  int jb;
  double jb_discards[3], jb_burst_r[3], jb_adapt_delay_ms, jb_adapt_max_ms;
} stream_summary_t;

/* What a pause's start and end read of a stream (the probe's snapshot fields that report/silences.ts takes). */
typedef struct {
  double expected, packets, mean_delta; /* cumulative */
  double iv_packets, iv_max_delta, iv_start_ms; /* the report interval so far (iv_start_ms 0 without a packet) */
} stream_activity_t;

/* Provided by rtpbench.c (the engine's side). */
double stream_last_ms(int slot);      /* the latest packet's capture time, ms since the epoch */
int stream_last_was_cn(int slot);     /* the latest packet was comfort noise */
void stream_activity(int slot, stream_activity_t *out);
void stream_interval(int slot, stream_interval_t *out);
void stream_reset_interval(int slot);
void stream_summary(int slot, stream_summary_t *out);

/* Called by rtpbench.c. */
void calls_init(int max_streams);
void calls_free(void);
/* A SIP message (UDP payload the SIP screen accepted). Addresses as the engine's key words. */
void calls_on_sip(const uint8_t *b, size_t len, const uint32_t *src, int sport, const uint32_t *dst, int dport, double now_ms);
/* An RTCP compound (UDP payload starting with version 2 and a packet type 200..207). */
void calls_on_rtcp(const uint8_t *b, size_t len, const uint32_t *src, int sport, const uint32_t *dst, int dport, double now_ms);
/* The engine created a stream in `slot` (key words as stream_summary_t.key, payload type pt) at capture time now_ms. */
void calls_stream_started(int slot, const uint32_t *key, int pt, double now_ms);
/* Capture time reached a tick (once a second of capture time): ends lingering calls' streams, scores due intervals. */
void calls_tick(double now_ms);
/* End of capture: every open stream's final report. */
void calls_finish(double now_ms);

/* Results, for rtpbench's --dump and summary line. */
const char *calls_stream_call_id(int slot); /* "" when the stream has no call */
int calls_stream_final_mos(int slot, double mos[3]); /* 1 when the stream's final report was built (mean MOS per buffer) */
/* The stream's media-fault state at its final report: silences (count, total and longest ms) and ONE_WAY_RTP. */
void calls_stream_silences(int slot, double out[3], int *one_way);
/* Fault reports by rule (FAULT_SILENCE, FAULT_ONE_WAY, FAULT_NO_MEDIA) and kind (0 ALERT, 1 CLEARED). */
enum { FAULT_SILENCE, FAULT_ONE_WAY, FAULT_NO_MEDIA, FAULT_RULES };
typedef struct { uint64_t sip, sip_bad, calls, rtcp, rtcp_bad, rtts, intervals, reports, report_bytes, attached, pauses, silences, faults[FAULT_RULES][2]; } calls_counts_t;
calls_counts_t calls_counts(void);

#endif
