/*
 * rtpprobe_pcap: the probe's own small live-capture addon (Node-API, C, libpcap).
 *
 * Why not a per-packet binding: JavaScript is entered once per BATCH. libpcap runs with a buffer
 * timeout (TPACKET_V3 blocks, never immediate mode, which would force TPACKET_V2 and one wake-up per
 * packet). One dispatch() copies up to N packets into a byte buffer and typed arrays that JavaScript
 * allocated and handed over once at open(); the addon keeps references to them for its lifetime.
 *
 * Only Node-API and libuv are used (no V8/NAN), the module is context-aware (NAPI_MODULE_INIT) and
 * all state hangs off the handle, so it loads and runs inside worker_threads.
 *
 * JS surface (wrapped by src/capture/live/pcap-backend.ts):
 *   open(opts) -> handle { linkType, snaplen, warning }
 *   dispatch(handle) -> packets copied (0 when nothing is ready; non-blocking)
 *   arm(handle, idleMs)  one-shot: calls opts.onReadable() once the fd is readable (paced, see on_poll) or
 *     after idleMs; armed already, it restarts the idleMs limit
 *   stats(handle) -> { received, dropped, ifDropped }   (pcap_stats)
 *   close(handle)  idempotent
 *   listInterfaces() -> [{ name, description, loopback, up, running, addresses: [{ family, address, netmask }] }]
 *   compileFilter(linkType, snaplen, expression) -> Uint32Array of [code | jt << 16 | jf << 24, k] per
 *     BPF instruction (pcap_compile on a dead handle: capture files are filtered by the same compiler
 *     tcpdump uses; the program runs in src/capture/file/bpf.ts)
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <node_api.h>
#include <pcap/pcap.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <uv.h>

#define MAX_STR 1024
#ifndef PACKET_FANOUT_FLAG_IGNORE_OUTGOING
#define PACKET_FANOUT_FLAG_IGNORE_OUTGOING 0x4000 /* linux/if_packet.h of Linux >= 4.20 */
#endif

typedef struct capture {
  pcap_t *p;
  napi_env env;
  int closed;
  int linktype;
  uint32_t snapshot; /* largest caplen libpcap can hand us (pcap_snapshot after activate) */

  /* JS-owned output arrays (kept alive by the references below). */
  napi_ref ref_arrays[6];
  uint8_t *buf;
  size_t buf_len;
  uint32_t *offset, *caplen, *wirelen, *ts_nsec;
  double *ts_sec;
  size_t max_packets; /* smallest length among the per-packet arrays */

  /* State of the dispatch in progress. */
  size_t count, used;
  double overflow; /* packets that did not fit (cannot happen when buf_len >= snapshot; counted anyway) */

  /* Readiness notification: one-shot poll on the selectable fd plus a timer (idle limit, or pacing). */
  uv_poll_t *poll;
  uv_timer_t *timer;
  int armed;
  /* Pacing (on_poll): the interval (the buffer timeout), loop time of the last notification, ring size,
     ring bytes read since the last notification and the rate they were read at before it (bytes/ms). */
  uint64_t interval_ms;
  uint64_t last_notify_ms;
  double ring_bytes;
  double cycle_bytes;
  double ring_rate;
  napi_ref on_readable;
  napi_async_context async_ctx;
} capture_t;

/* ---------- small N-API helpers ---------- */

#define CHECK(call)                                                                                 \
  do {                                                                                              \
    if ((call) != napi_ok) {                                                                        \
      throw_last(env, #call);                                                                       \
      return NULL;                                                                                  \
    }                                                                                               \
  } while (0)

static void throw_last(napi_env env, const char *what) {
  const napi_extended_error_info *info = NULL;
  bool pending = false;
  napi_is_exception_pending(env, &pending);
  if (pending) return;
  napi_get_last_error_info(env, &info);
  char msg[MAX_STR];
  snprintf(msg, sizeof msg, "rtpprobe_pcap: %s failed: %s", what,
           info && info->error_message ? info->error_message : "unknown");
  napi_throw_error(env, NULL, msg);
}

/* Throws an Error with a `code` property (EPERM, ENODEV, EFILTER...) so callers can branch. */
static void throw_code(napi_env env, const char *code, const char *msg) { napi_throw_error(env, code, msg); }

static int get_prop(napi_env env, napi_value obj, const char *key, napi_value *out, napi_valuetype *type) {
  bool has = false;
  if (napi_has_named_property(env, obj, key, &has) != napi_ok || !has) return 0;
  if (napi_get_named_property(env, obj, key, out) != napi_ok) return 0;
  napi_typeof(env, *out, type);
  return *type != napi_undefined && *type != napi_null;
}

static int64_t get_int(napi_env env, napi_value obj, const char *key, int64_t dflt) {
  napi_value v;
  napi_valuetype t;
  int64_t r = dflt;
  if (get_prop(env, obj, key, &v, &t) && t == napi_number) napi_get_value_int64(env, v, &r);
  return r;
}

static bool get_bool(napi_env env, napi_value obj, const char *key, bool dflt) {
  napi_value v;
  napi_valuetype t;
  bool r = dflt;
  if (get_prop(env, obj, key, &v, &t) && t == napi_boolean) napi_get_value_bool(env, v, &r);
  return r;
}

/* Copies a string property into out (always NUL-terminated); returns 0 when absent. */
static int get_str(napi_env env, napi_value obj, const char *key, char *out, size_t out_len) {
  napi_value v;
  napi_valuetype t;
  size_t n = 0;
  out[0] = '\0';
  if (!get_prop(env, obj, key, &v, &t) || t != napi_string) return 0;
  if (napi_get_value_string_utf8(env, v, out, out_len, &n) != napi_ok) return 0;
  return 1;
}

/* Takes a typed array property of the expected type; stores a strong reference in *ref. */
static void *get_typed(napi_env env, napi_value obj, const char *key, napi_typedarray_type want, size_t *len,
                       napi_ref *ref) {
  napi_value v;
  napi_valuetype t;
  bool is_ta = false;
  napi_typedarray_type type;
  void *data = NULL;
  if (!get_prop(env, obj, key, &v, &t)) return NULL;
  if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) return NULL;
  if (napi_get_typedarray_info(env, v, &type, len, &data, NULL, NULL) != napi_ok || type != want) return NULL;
  if (napi_create_reference(env, v, 1, ref) != napi_ok) return NULL;
  return data;
}

/* ---------- lifecycle ---------- */

/*
 * Close callback for the uv handles. It must not be a function of this library: when a worker thread
 * ends, Node unloads the addon before its loop runs the pending close callbacks (seen as a segfault in
 * uv__finish_close). libc's free() stays mapped, and uv_close_cb's only argument is the handle pointer.
 */
#define free_uv_handle ((uv_close_cb)(void (*)(void *))free)

static void stop_notify(capture_t *c) {
  if (!c->armed) return;
  c->armed = 0;
  uv_poll_stop(c->poll);
  uv_timer_stop(c->timer);
}

/* Releases libpcap, the uv handles and the JS references. Safe to call twice. */
static void capture_close(capture_t *c) {
  if (c->closed) return;
  c->closed = 1;
  stop_notify(c);
  /* uv_close on the poll handle removes the fd from epoll synchronously, so pcap_close may follow. */
  if (c->poll) uv_close((uv_handle_t *)c->poll, free_uv_handle);
  if (c->timer) uv_close((uv_handle_t *)c->timer, free_uv_handle);
  c->poll = NULL;
  c->timer = NULL;
  if (c->p) pcap_close(c->p);
  c->p = NULL;
  for (int i = 0; i < 6; i++) {
    if (c->ref_arrays[i]) napi_delete_reference(c->env, c->ref_arrays[i]);
    c->ref_arrays[i] = NULL;
  }
  if (c->on_readable) napi_delete_reference(c->env, c->on_readable);
  c->on_readable = NULL;
  if (c->async_ctx) napi_async_destroy(c->env, c->async_ctx);
  c->async_ctx = NULL;
  c->buf = NULL;
  c->buf_len = 0;
  c->max_packets = 0;
}

/* Environment teardown (worker exit, process exit) closes a handle JavaScript forgot to close. */
static void env_cleanup(void *arg) { capture_close((capture_t *)arg); }

static void capture_finalize(napi_env env, void *data, void *hint) {
  capture_t *c = (capture_t *)data;
  if (!c->closed) {
    napi_remove_env_cleanup_hook(env, env_cleanup, c);
    capture_close(c);
  }
  free(c);
}

static capture_t *unwrap(napi_env env, napi_callback_info info, napi_value *args, size_t *argc) {
  napi_value self;
  size_t want = *argc;
  if (napi_get_cb_info(env, info, argc, args, &self, NULL) != napi_ok || *argc < 1 || want < 1) {
    napi_throw_type_error(env, NULL, "rtpprobe_pcap: handle expected");
    return NULL;
  }
  capture_t *c = NULL;
  if (napi_unwrap(env, args[0], (void **)&c) != napi_ok || c == NULL) {
    napi_throw_type_error(env, NULL, "rtpprobe_pcap: not a capture handle");
    return NULL;
  }
  return c;
}

/* ---------- open ---------- */

/* The capture device is a loopback interface (IFF_LOOPBACK); fd is any socket to ask through. */
static int is_loopback(int fd, const char *device) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (strlen(device) >= sizeof ifr.ifr_name) return 0;
  strcpy(ifr.ifr_name, device);
  return ioctl(fd, SIOCGIFFLAGS, &ifr) == 0 && (ifr.ifr_flags & IFF_LOOPBACK) != 0;
}

static napi_value open_capture(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value opts;
  CHECK(napi_get_cb_info(env, info, &argc, &opts, NULL, NULL));
  if (argc < 1) {
    napi_throw_type_error(env, NULL, "open(options) expects an options object");
    return NULL;
  }

  char device[256], filter[4096], tstamp[64], msg[8192];
  char errbuf[PCAP_ERRBUF_SIZE];
  errbuf[0] = '\0';
  if (!get_str(env, opts, "device", device, sizeof device) || device[0] == '\0') {
    napi_throw_type_error(env, NULL, "open: options.device (interface name) is required");
    return NULL;
  }
  get_str(env, opts, "filter", filter, sizeof filter);
  get_str(env, opts, "tstampType", tstamp, sizeof tstamp);
  int64_t snaplen = get_int(env, opts, "snaplen", 65535);
  int64_t buffer_size = get_int(env, opts, "bufferSize", 32 << 20);
  int64_t timeout_ms = get_int(env, opts, "timeoutMs", 10);
  int64_t fanout_group = get_int(env, opts, "fanoutGroup", -1);
  int64_t fanout_mode = get_int(env, opts, "fanoutMode", PACKET_FANOUT_HASH);
  bool promisc = get_bool(env, opts, "promisc", true);
  if (snaplen < 64 || snaplen > 262144 || buffer_size < 65536 || buffer_size > (1LL << 31) || timeout_ms < 1 ||
      timeout_ms > 10000 || fanout_group > 65535 || fanout_mode < 0 || fanout_mode > 7) {
    napi_throw_range_error(env, NULL, "open: snaplen, bufferSize, timeoutMs or fanout out of range");
    return NULL;
  }

  capture_t *c = calloc(1, sizeof *c);
  if (!c) {
    napi_throw_error(env, NULL, "open: out of memory");
    return NULL;
  }
  c->env = env;
  size_t n_buf = 0, n_off = 0, n_cap = 0, n_wire = 0, n_sec = 0, n_nsec = 0;
  c->buf = get_typed(env, opts, "buf", napi_uint8_array, &n_buf, &c->ref_arrays[0]);
  c->offset = get_typed(env, opts, "offset", napi_uint32_array, &n_off, &c->ref_arrays[1]);
  c->caplen = get_typed(env, opts, "caplen", napi_uint32_array, &n_cap, &c->ref_arrays[2]);
  c->wirelen = get_typed(env, opts, "wirelen", napi_uint32_array, &n_wire, &c->ref_arrays[3]);
  c->ts_sec = get_typed(env, opts, "tsSec", napi_float64_array, &n_sec, &c->ref_arrays[4]);
  c->ts_nsec = get_typed(env, opts, "tsNsec", napi_uint32_array, &n_nsec, &c->ref_arrays[5]);
  napi_value cb;
  napi_valuetype cbt;
  if (!c->buf || !c->offset || !c->caplen || !c->wirelen || !c->ts_sec || !c->ts_nsec ||
      !get_prop(env, opts, "onReadable", &cb, &cbt) || cbt != napi_function) {
    capture_close(c);
    free(c);
    napi_throw_type_error(env, NULL,
                          "open: options need buf (Uint8Array), offset/caplen/wirelen/tsNsec (Uint32Array), "
                          "tsSec (Float64Array) and onReadable (function)");
    return NULL;
  }
  c->buf_len = n_buf;
  c->max_packets = n_off;
  if (n_cap < c->max_packets) c->max_packets = n_cap;
  if (n_wire < c->max_packets) c->max_packets = n_wire;
  if (n_sec < c->max_packets) c->max_packets = n_sec;
  if (n_nsec < c->max_packets) c->max_packets = n_nsec;
  napi_create_reference(env, cb, 1, &c->on_readable);

#define FAIL(code, ...)                                                                             \
  do {                                                                                              \
    snprintf(msg, sizeof msg, __VA_ARGS__);                                                         \
    capture_close(c);                                                                               \
    free(c);                                                                                        \
    throw_code(env, code, msg);                                                                     \
    return NULL;                                                                                    \
  } while (0)

  c->p = pcap_create(device, errbuf);
  if (!c->p) FAIL("ENODEV", "cannot open capture on interface '%s': %s", device, errbuf);
  /* Buffer timeout, never immediate mode: libpcap then uses TPACKET_V3 blocks the kernel fills. */
  if (pcap_set_snaplen(c->p, (int)snaplen) || pcap_set_buffer_size(c->p, (int)buffer_size) ||
      pcap_set_timeout(c->p, (int)timeout_ms) || pcap_set_promisc(c->p, promisc ? 1 : 0))
    FAIL("EINVAL", "cannot configure capture on interface '%s': %s", device, pcap_geterr(c->p));
  if (pcap_set_tstamp_precision(c->p, PCAP_TSTAMP_PRECISION_NANO) != 0)
    FAIL("EINVAL", "interface '%s': nanosecond timestamps not supported by this libpcap", device);
  if (tstamp[0] != '\0') {
    int type = pcap_tstamp_type_name_to_val(tstamp);
    if (type < 0) FAIL("EINVAL", "unknown timestamp type '%s' (host, adapter, adapter_unsynced)", tstamp);
    if (pcap_set_tstamp_type(c->p, type) < 0)
      FAIL("EINVAL", "interface '%s': cannot set timestamp type '%s'", device, tstamp);
  }

  int rc = pcap_activate(c->p);
  const char *warning = NULL;
  char warnbuf[MAX_STR];
  if (rc < 0) {
    const char *detail = pcap_geterr(c->p);
    if (!detail || !detail[0]) detail = pcap_statustostr(rc);
    switch (rc) {
    case PCAP_ERROR_PERM_DENIED:
      FAIL("EPERM", "permission denied capturing on '%s': run as root or grant CAP_NET_RAW (and CAP_NET_ADMIN) (%s)",
           device, detail);
    case PCAP_ERROR_PROMISC_PERM_DENIED:
      FAIL("EPERM", "permission denied enabling promiscuous mode on '%s': grant CAP_NET_ADMIN or disable promiscuous (%s)",
           device, detail);
    case PCAP_ERROR_NO_SUCH_DEVICE:
      FAIL("ENODEV", "no such capture interface '%s' (%s)", device, detail);
    case PCAP_ERROR_IFACE_NOT_UP:
      FAIL("ENETDOWN", "capture interface '%s' is not up: bring it up first (ip link set %s up) (%s)", device, device, detail);
    default:
      FAIL("EPCAP", "cannot start capture on '%s': %s", device, detail);
    }
  } else if (rc > 0) {
    /* e.g. PCAP_WARNING_TSTAMP_TYPE_NOTSUP, PCAP_WARNING_PROMISC_NOTSUP: capture works, say why it differs. */
    snprintf(warnbuf, sizeof warnbuf, "%s: %s", pcap_statustostr(rc), pcap_geterr(c->p));
    warning = warnbuf;
  }
  if (pcap_get_tstamp_precision(c->p) != PCAP_TSTAMP_PRECISION_NANO)
    FAIL("EPCAP", "interface '%s' did not accept nanosecond timestamps", device);

  c->linktype = pcap_datalink(c->p);
  int snap = pcap_snapshot(c->p);
  c->snapshot = snap > 0 ? (uint32_t)snap : (uint32_t)snaplen;
  if (c->buf_len < c->snapshot || c->max_packets < 1)
    FAIL("EINVAL", "open: batch buffer (%zu bytes) must hold at least one packet of the snap length (%u)",
         c->buf_len, c->snapshot);

  if (filter[0] != '\0') {
    struct bpf_program prog;
    /* Compiled for the interface's own link type: an expression that fits Ethernet may not fit it ("any"). */
    if (pcap_compile(c->p, &prog, filter, 1, PCAP_NETMASK_UNKNOWN) < 0) {
      const char *lt = pcap_datalink_val_to_name(c->linktype);
      FAIL("EFILTER", "capture filter '%s' does not compile for '%s' (link type %s): %s: fix the expression for this link type (see man pcap-filter)",
           filter, device, lt ? lt : "unknown", pcap_geterr(c->p));
    }
    int frc = pcap_setfilter(c->p, &prog);
    pcap_freecode(&prog);
    if (frc < 0) FAIL("EFILTER", "cannot apply capture filter '%s': %s", filter, pcap_geterr(c->p));
  }
  if (pcap_setnonblock(c->p, 1, errbuf) < 0) FAIL("EPCAP", "cannot set non-blocking mode on '%s': %s", device, errbuf);
  int fd = pcap_get_selectable_fd(c->p);
  if (fd < 0) FAIL("EPCAP", "interface '%s' has no selectable descriptor", device);

  if (is_loopback(fd, device)) {
#ifdef PACKET_IGNORE_OUTGOING
    /* On loopback the kernel queues every packet twice, as sent and as received, and libpcap drops the
       sent copy in user space. Not queueing sent packets gives the same packets for half the copies into
       the ring (Linux >= 4.20; an older kernel refuses it and libpcap keeps dropping them). */
    int one = 1;
    (void)setsockopt(fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one, sizeof one);
#endif
  }

  if (fanout_group >= 0) {
    /* libpcap has no fanout API; the socket is an AF_PACKET socket already bound to the device. */
    int val = (int)(fanout_group & 0xffff) | (int)(fanout_mode << 16);
    /* A fanout group delivers through its own hook, which ignores the socket's PACKET_IGNORE_OUTGOING: on
       loopback the group takes the same flag (Linux >= 4.20), or the sent copies fill the rings again.
       Every member must join with the same flags, so an older kernel's refusal is retried without it. */
    int joined = 0;
    if (is_loopback(fd, device)) {
      int flagged = val | (PACKET_FANOUT_FLAG_IGNORE_OUTGOING << 16);
      joined = setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &flagged, sizeof flagged) == 0;
    }
    if (!joined && setsockopt(fd, SOL_PACKET, PACKET_FANOUT, &val, sizeof val) < 0)
      FAIL("EFANOUT", "cannot join PACKET_FANOUT group %lld on '%s': %s", (long long)fanout_group, device,
           strerror(errno));
  }

  uv_loop_t *loop = NULL;
  if (napi_get_uv_event_loop(env, &loop) != napi_ok || !loop) FAIL("EPCAP", "open: no event loop");
  c->poll = malloc(sizeof *c->poll);
  c->timer = malloc(sizeof *c->timer);
  if (!c->poll || !c->timer) {
    free(c->poll);
    free(c->timer);
    c->poll = NULL;
    c->timer = NULL;
    FAIL("ENOMEM", "open: out of memory");
  }
  if (uv_poll_init(loop, c->poll, fd) != 0) {
    free(c->poll);
    free(c->timer);
    c->poll = NULL;
    c->timer = NULL;
    FAIL("EPCAP", "open: uv_poll_init failed on '%s'", device);
  }
  uv_timer_init(loop, c->timer);
  c->poll->data = c;
  c->timer->data = c;
  c->interval_ms = (uint64_t)timeout_ms;
  c->ring_bytes = (double)buffer_size;

  napi_value handle, resource_name, v;
  CHECK(napi_create_object(env, &handle));
  CHECK(napi_create_string_utf8(env, "rtpprobe:capture", NAPI_AUTO_LENGTH, &resource_name));
  if (napi_async_init(env, handle, resource_name, &c->async_ctx) != napi_ok) FAIL("EPCAP", "open: async_init failed");
  if (napi_wrap(env, handle, c, capture_finalize, NULL, NULL) != napi_ok) FAIL("EPCAP", "open: wrap failed");
  napi_add_env_cleanup_hook(env, env_cleanup, c);
  CHECK(napi_create_int32(env, c->linktype, &v));
  CHECK(napi_set_named_property(env, handle, "linkType", v));
  CHECK(napi_create_uint32(env, c->snapshot, &v));
  CHECK(napi_set_named_property(env, handle, "snaplen", v));
  if (warning) {
    CHECK(napi_create_string_utf8(env, warning, NAPI_AUTO_LENGTH, &v));
    CHECK(napi_set_named_property(env, handle, "warning", v));
  }
  return handle;
#undef FAIL
}

/* ---------- dispatch ---------- */

/* libpcap callback: copies one packet into the JS buffer. Never writes past buf_len / max_packets. */
static void on_packet(u_char *user, const struct pcap_pkthdr *h, const u_char *bytes) {
  capture_t *c = (capture_t *)user;
  uint32_t len = h->caplen;
  if (len > c->snapshot) len = c->snapshot;
  if (c->count >= c->max_packets || len > c->buf_len - c->used) {
    c->overflow += 1;
    pcap_breakloop(c->p);
    return;
  }
  size_t i = c->count;
  memcpy(c->buf + c->used, bytes, len);
  c->offset[i] = (uint32_t)c->used;
  c->caplen[i] = len;
  c->wirelen[i] = h->len;
  c->ts_sec[i] = (double)h->ts.tv_sec;
  c->ts_nsec[i] = (uint32_t)h->ts.tv_usec; /* nanoseconds: precision set to PCAP_TSTAMP_PRECISION_NANO */
  c->used += len;
  c->count = i + 1;
  /* Stop before a packet could fail to fit; libpcap resumes inside the same block next time. */
  if (c->buf_len - c->used < c->snapshot) pcap_breakloop(c->p);
}

static napi_value dispatch(napi_env env, napi_callback_info info) {
  napi_value args[1];
  size_t argc = 1;
  capture_t *c = unwrap(env, info, args, &argc);
  if (!c) return NULL;
  napi_value out;
  if (c->closed) {
    napi_create_int32(env, -1, &out);
    return out;
  }
  c->count = 0;
  c->used = 0;
  int rc = pcap_dispatch(c->p, (int)(c->max_packets > 0x7fffffff ? 0x7fffffff : c->max_packets), on_packet,
                         (u_char *)c);
  if (rc == PCAP_ERROR) {
    char msg[MAX_STR];
    snprintf(msg, sizeof msg, "capture read failed: %s", pcap_geterr(c->p));
    throw_code(env, "EPCAP", msg);
    return NULL;
  }
  /* Ring bytes: the packets plus their TPACKET_V3 header and address (about 80 bytes each). */
  c->cycle_bytes += (double)c->used + 80.0 * (double)c->count;
  /* rc == PCAP_ERROR_BREAK after our own breakloop: the count we kept is the truth. */
  napi_create_uint32(env, (uint32_t)c->count, &out);
  return out;
}

/* ---------- readiness notification ---------- */

static void notify(capture_t *c) {
  stop_notify(c);
  uint64_t now = uv_now(c->poll->loop);
  uint64_t took = now - c->last_notify_ms;
  c->ring_rate = c->cycle_bytes / (double)(took > 0 ? took : 1);
  c->cycle_bytes = 0;
  c->last_notify_ms = now;
  napi_env env = c->env;
  napi_handle_scope scope;
  if (napi_open_handle_scope(env, &scope) != napi_ok) return;
  napi_value fn, recv, result;
  if (c->on_readable && napi_get_reference_value(env, c->on_readable, &fn) == napi_ok && fn) {
    napi_get_global(env, &recv); /* make_callback needs an object receiver */
    /* make_callback: runs microtasks afterwards, so awaiting promises continue promptly. */
    napi_make_callback(env, c->async_ctx, recv, fn, 0, NULL, &result);
  }
  napi_close_handle_scope(env, scope);
}

static void on_timer(uv_timer_t *h) { notify((capture_t *)h->data); }

/*
 * Readable (a block retired: full, or on the kernel's buffer timeout). JavaScript is entered at most about
 * once per interval_ms (the buffer timeout, the latency a block may already have): a readiness less than
 * half an interval after the previous wake-up waits out the rest of it, so that as the rate rises blocks
 * are read several at a time (a wake-up costs the same whatever it reads) while the ring holds them. At
 * rates where blocks retire on their timeout, readiness comes an interval apart and is served at once.
 * Never while the ring fills fast: at the rate of the last cycle, the wait may take a quarter of it at most.
 */
static void on_poll(uv_poll_t *h, int status, int events) {
  capture_t *c = (capture_t *)h->data;
  (void)events;
  uint64_t since = uv_now(h->loop) - c->last_notify_ms;
  if (status < 0 || 2 * since >= c->interval_ms || c->ring_rate * (double)c->interval_ms > c->ring_bytes / 4) {
    notify(c);
    return;
  }
  uv_poll_stop(c->poll);
  uv_timer_stop(c->timer);
  uv_timer_start(c->timer, on_timer, c->interval_ms - since, 0);
}

static napi_value arm(napi_env env, napi_callback_info info) {
  napi_value args[2];
  size_t argc = 2;
  capture_t *c = unwrap(env, info, args, &argc);
  if (!c) return NULL;
  if (c->closed) return NULL;
  int64_t ms = 1000;
  if (argc >= 2) napi_get_value_int64(env, args[1], &ms);
  if (ms < 1) ms = 1;
  if (c->armed) {
    /* Armed already (JavaScript woke itself, e.g. to drain at a stop): the new wait's time limit applies. */
    uv_timer_stop(c->timer);
    uv_timer_start(c->timer, on_timer, (uint64_t)ms, 0);
    return NULL;
  }
  c->armed = 1;
  uv_poll_start(c->poll, UV_READABLE, on_poll);
  uv_timer_start(c->timer, on_timer, (uint64_t)ms, 0);
  return NULL;
}

/* ---------- stats ---------- */

static napi_value stats(napi_env env, napi_callback_info info) {
  napi_value args[1];
  size_t argc = 1;
  capture_t *c = unwrap(env, info, args, &argc);
  if (!c) return NULL;
  struct pcap_stat st;
  memset(&st, 0, sizeof st);
  if (!c->closed && pcap_stats(c->p, &st) < 0) {
    char msg[MAX_STR];
    snprintf(msg, sizeof msg, "pcap_stats failed: %s", pcap_geterr(c->p));
    throw_code(env, "EPCAP", msg);
    return NULL;
  }
  napi_value out, v;
  CHECK(napi_create_object(env, &out));
  CHECK(napi_create_double(env, (double)st.ps_recv, &v));
  CHECK(napi_set_named_property(env, out, "received", v));
  CHECK(napi_create_double(env, (double)st.ps_drop, &v));
  CHECK(napi_set_named_property(env, out, "dropped", v));
  CHECK(napi_create_double(env, (double)st.ps_ifdrop, &v));
  CHECK(napi_set_named_property(env, out, "ifDropped", v));
  CHECK(napi_create_double(env, c->overflow, &v));
  CHECK(napi_set_named_property(env, out, "overflow", v));
  return out;
}

static napi_value close_capture(napi_env env, napi_callback_info info) {
  napi_value args[1];
  size_t argc = 1;
  capture_t *c = unwrap(env, info, args, &argc);
  if (!c) return NULL;
  if (!c->closed) {
    napi_remove_env_cleanup_hook(env, env_cleanup, c);
    capture_close(c);
  }
  return NULL;
}

/* ---------- interface listing ---------- */

static napi_value address_string(napi_env env, const struct sockaddr *sa) {
  char text[INET6_ADDRSTRLEN];
  napi_value v = NULL;
  const void *src = NULL;
  if (!sa) return NULL;
  if (sa->sa_family == AF_INET) src = &((const struct sockaddr_in *)sa)->sin_addr;
  else if (sa->sa_family == AF_INET6) src = &((const struct sockaddr_in6 *)sa)->sin6_addr;
  if (!src || !inet_ntop(sa->sa_family, src, text, sizeof text)) return NULL;
  napi_create_string_utf8(env, text, NAPI_AUTO_LENGTH, &v);
  return v;
}

static napi_value list_interfaces(napi_env env, napi_callback_info info) {
  pcap_if_t *all = NULL;
  char errbuf[PCAP_ERRBUF_SIZE];
  if (pcap_findalldevs(&all, errbuf) < 0) {
    char msg[MAX_STR];
    snprintf(msg, sizeof msg, "cannot list interfaces: %s", errbuf);
    throw_code(env, "EPCAP", msg);
    return NULL;
  }
  napi_value arr, v;
  uint32_t n = 0;
  if (napi_create_array(env, &arr) != napi_ok) {
    pcap_freealldevs(all);
    return NULL;
  }
  for (pcap_if_t *d = all; d; d = d->next) {
    napi_value o, addrs;
    uint32_t na = 0;
    napi_create_object(env, &o);
    napi_create_string_utf8(env, d->name, NAPI_AUTO_LENGTH, &v);
    napi_set_named_property(env, o, "name", v);
    if (d->description) napi_create_string_utf8(env, d->description, NAPI_AUTO_LENGTH, &v);
    else napi_get_null(env, &v);
    napi_set_named_property(env, o, "description", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_LOOPBACK) != 0, &v);
    napi_set_named_property(env, o, "loopback", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_UP) != 0, &v);
    napi_set_named_property(env, o, "up", v);
    napi_get_boolean(env, (d->flags & PCAP_IF_RUNNING) != 0, &v);
    napi_set_named_property(env, o, "running", v);
    napi_create_array(env, &addrs);
    for (pcap_addr_t *a = d->addresses; a; a = a->next) {
      napi_value addr = address_string(env, a->addr);
      if (!addr) continue; /* AF_PACKET link addresses: not useful here */
      napi_value ao, mask;
      napi_create_object(env, &ao);
      napi_create_string_utf8(env, a->addr->sa_family == AF_INET ? "IPv4" : "IPv6", NAPI_AUTO_LENGTH, &v);
      napi_set_named_property(env, ao, "family", v);
      napi_set_named_property(env, ao, "address", addr);
      mask = address_string(env, a->netmask);
      if (!mask) napi_get_null(env, &mask);
      napi_set_named_property(env, ao, "netmask", mask);
      napi_set_element(env, addrs, na++, ao);
    }
    napi_set_named_property(env, o, "addresses", addrs);
    napi_set_element(env, arr, n++, o);
  }
  pcap_freealldevs(all);
  return arr;
}

static napi_value compile_filter(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value args[3];
  if (napi_get_cb_info(env, info, &argc, args, NULL, NULL) != napi_ok || argc < 3) {
    throw_code(env, "EINVAL", "compileFilter(linkType, snaplen, expression)");
    return NULL;
  }
  int32_t link = 0, snaplen = 0;
  char expr[MAX_STR * 4];
  size_t len = 0;
  if (napi_get_value_int32(env, args[0], &link) != napi_ok || napi_get_value_int32(env, args[1], &snaplen) != napi_ok ||
      napi_get_value_string_utf8(env, args[2], expr, sizeof expr, &len) != napi_ok) {
    throw_code(env, "EINVAL", "compileFilter(linkType: number, snaplen: number, expression: string)");
    return NULL;
  }
  if (len >= sizeof expr - 1) {
    throw_code(env, "EFILTER", "capture filter too long");
    return NULL;
  }
  pcap_t *p = pcap_open_dead(link, snaplen > 0 ? snaplen : 262144);
  if (!p) {
    throw_code(env, "EPCAP", "pcap_open_dead failed");
    return NULL;
  }
  struct bpf_program prog;
  if (pcap_compile(p, &prog, expr, 1, PCAP_NETMASK_UNKNOWN) < 0) {
    char msg[MAX_STR];
    snprintf(msg, sizeof msg, "%s", pcap_geterr(p));
    pcap_close(p);
    throw_code(env, "EFILTER", msg);
    return NULL;
  }
  napi_value ab, out;
  void *data = NULL;
  size_t n = prog.bf_len;
  if (napi_create_arraybuffer(env, n * 8, &data, &ab) != napi_ok ||
      napi_create_typedarray(env, napi_uint32_array, n * 2, ab, 0, &out) != napi_ok) {
    pcap_freecode(&prog);
    pcap_close(p);
    return NULL;
  }
  uint32_t *w = data;
  for (size_t i = 0; i < n; i++) {
    const struct bpf_insn *in = &prog.bf_insns[i];
    w[2 * i] = (uint32_t)in->code | ((uint32_t)in->jt << 16) | ((uint32_t)in->jf << 24);
    w[2 * i + 1] = in->k;
  }
  pcap_freecode(&prog);
  pcap_close(p);
  return out;
}

NAPI_MODULE_INIT() {
  napi_property_descriptor props[] = {
      {"open", NULL, open_capture, NULL, NULL, NULL, napi_enumerable, NULL},
      {"dispatch", NULL, dispatch, NULL, NULL, NULL, napi_enumerable, NULL},
      {"arm", NULL, arm, NULL, NULL, NULL, napi_enumerable, NULL},
      {"stats", NULL, stats, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, close_capture, NULL, NULL, NULL, napi_enumerable, NULL},
      {"listInterfaces", NULL, list_interfaces, NULL, NULL, NULL, napi_enumerable, NULL},
      {"compileFilter", NULL, compile_filter, NULL, NULL, NULL, napi_enumerable, NULL},
      {"libraryVersion", NULL, NULL, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  napi_value ver;
  napi_create_string_utf8(env, pcap_lib_version(), NAPI_AUTO_LENGTH, &ver);
  props[7].value = ver;
  if (napi_define_properties(env, exports, sizeof props / sizeof props[0], props) != napi_ok) return NULL;
  return exports;
}
