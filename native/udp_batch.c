/*
 * udp_batch: the batched UDP engine of dane-ns (recvmmsg/sendmmsg), used by src/server/udp-batch.ts.
 * It carries DNS messages over UDP (RFC 1035 §4.2.1) and knows nothing of their content.
 *
 * One socket per server, driven from the Node event loop by a uv_poll_t on its fd. When the fd is readable,
 * recvmmsg() pulls up to `batch` datagrams into preallocated slots, ONE JS callback runs per batch, and the
 * answers go back with ONE sendmmsg(). While a batch comes back full the drain repeats (bounded), then control
 * returns to the loop so timers and TCP are not starved.
 *
 * Memory shared with JS (ArrayBuffers created here, pinned by references while the server lives):
 *   in     batch * inSlot bytes: datagram i starts at i * inSlot
 *   meta   batch * 32 bytes: int32 [len, port, family(4|6), 0], then 16 address bytes (network order)
 *          len < 0 means "skip" (truncated datagram, source port 0, unknown family)
 *   out    outCap bytes: JS packs the answers here, anywhere it likes
 *   ctl    batch * 2 int32: [offset, length] of the answer to datagram i in `out`; length 0 = no answer.
 *          Lengths are zeroed by C before each callback.
 * An answer that does not fit `out` can be sent at once with sendOne(handle, i, bytes), from inside the batch
 * callback only and for a datagram of that batch (it throws otherwise: the addresses belong to the batch).
 *
 * Modes:
 *   0 shared  cb(count) reads/writes the shared buffers above (no per-datagram N-API call); the only production mode
 * Built only with UDP_BATCH_MEASURE (bench/udp-ceiling.sh builds such a copy in its own directory), to measure
 * the cost of the JS side:
 *   1 array   cb(count, Buffer[]) gets a fresh Buffer per datagram and returns (Uint8Array|null)[]
 *   2 native  no JS at all: C echoes each query with QR set (the syscall ceiling)
 *
 * Errors: exported functions check every N-API status and throw (a failed syscall throws the error node:dgram
 * would: `bind EADDRINUSE 127.0.0.1:53`, names from libuv). Nothing throws out of the event loop: EAGAIN ends a
 * drain, other receive errors end it too (the next readable event retries), send errors drop that one datagram,
 * and a failed N-API call there drops the batch; all are counted (stats).
 *
 * Linux only (recvmmsg/sendmmsg).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <node_api.h>
#include <uv.h>

#define MAX_BATCH 256
#define META_BYTES 32
#define MAX_DRAINS 16 /* full batches handled per readable event before yielding to the loop */
#define MAX_UDP_PAYLOAD 65507
#define SOCK_BUF_BYTES (4 * 1024 * 1024)
#define N_STATS 7

enum { MODE_SHARED = 0, MODE_ARRAY = 1, MODE_NATIVE = 2 };

#ifdef UDP_BATCH_MEASURE
#define MAX_MODE MODE_NATIVE
#else
#define MAX_MODE MODE_SHARED
#endif

typedef struct server {
  napi_env env;
  uv_poll_t poll;
  int fd;
  int mode;
  unsigned batch;
  unsigned in_slot;
  unsigned out_cap;
  int polling;      /* uv_poll_start done and not stopped */
  int closing;      /* close() called (maybe from inside the callback) */
  int closed;       /* uv close callback ran, fd closed */
  int finalized;    /* the JS handle was garbage collected */
  int hooked;       /* the env cleanup hook is registered */
  int in_callback;  /* the batch callback is running: sendOne is allowed */
  unsigned current; /* datagrams in the batch the callback is handling */
  napi_ref cb_ref, close_cb_ref, in_ref, meta_ref, out_ref, ctl_ref;
  napi_async_context async_ctx;
  uint8_t *in;
  uint8_t *meta;
  uint8_t *out;
  int32_t *ctl;
  uint8_t answerable[MAX_BATCH]; /* private copy of "len >= 0": JS may scribble over meta */
  struct mmsghdr rmsg[MAX_BATCH];
  struct mmsghdr smsg[MAX_BATCH];
  struct iovec riov[MAX_BATCH];
  struct iovec siov[MAX_BATCH];
  struct sockaddr_storage addr[MAX_BATCH];
  /* counters */
  double batches, packets, skipped, send_errors, send_dropped, js_errors, napi_errors;
} server_t;

static void maybe_free(server_t *s) {
  if (s->closed && s->finalized) free(s);
}

/* ---------- errors in exported functions (a JS caller is there to catch them) ---------- */

/* An exported function either returns or throws; when even throwing fails the environment is unusable. */
static napi_value thrown(napi_status st, const char *msg) {
  if (st != napi_ok) napi_fatal_error("udp_batch", NAPI_AUTO_LENGTH, msg, NAPI_AUTO_LENGTH);
  return NULL;
}

static napi_value throw_type(napi_env env, const char *msg) { return thrown(napi_throw_type_error(env, NULL, msg), msg); }

static napi_value throw_range(napi_env env, const char *msg) {
  return thrown(napi_throw_range_error(env, NULL, msg), msg);
}

/* A failed N-API call: its own exception when it left one, else an error naming the call. */
static napi_value throw_napi(napi_env env, napi_status st, const char *call) {
  const napi_extended_error_info *info = NULL;
  const char *why = napi_get_last_error_info(env, &info) == napi_ok && info && info->error_message
                        ? info->error_message
                        : "unknown N-API error";
  bool pending = st == napi_pending_exception;
  if (!pending && napi_is_exception_pending(env, &pending) != napi_ok) pending = false;
  if (pending) return NULL;
  char msg[200];
  snprintf(msg, sizeof msg, "udp_batch: %s failed: %s", call, why);
  return thrown(napi_throw_error(env, "ERR_UDP_BATCH_NAPI", msg), msg);
}

/* For exported functions: on failure, throw and return NULL (undefined) to JS. */
#define NAPI_CALL(env, call)                                                                                           \
  do {                                                                                                                 \
    napi_status st_ = (call);                                                                                          \
    if (st_ != napi_ok) return throw_napi((env), st_, #call);                                                          \
  } while (0)

static napi_status set_str(napi_env env, napi_value obj, const char *key, const char *val) {
  napi_value v;
  napi_status st = napi_create_string_utf8(env, val, NAPI_AUTO_LENGTH, &v);
  return st == napi_ok ? napi_set_named_property(env, obj, key, v) : st;
}

/*
 * A failed syscall, thrown as node:dgram throws it (lib/internal/errors.js exceptionWithHostPort): the message
 * `bind EADDRINUSE 127.0.0.1:53` (the port only when not 0), and code, errno (libuv's negative number), syscall,
 * address, port. The names come from libuv, as Node's own do.
 */
static napi_value throw_sys(napi_env env, int sys_errno, const char *syscall, const char *host, uint32_t port) {
  int uverr = uv_translate_sys_error(sys_errno);
  const char *code = uv_err_name(uverr);
  char msg[200];
  if (host && port > 0)
    snprintf(msg, sizeof msg, "%s %s %s:%u", syscall, code, host, port);
  else if (host)
    snprintf(msg, sizeof msg, "%s %s %s", syscall, code, host);
  else
    snprintf(msg, sizeof msg, "%s %s", syscall, code);
  napi_value err, code_v, msg_v, v;
  NAPI_CALL(env, napi_create_string_utf8(env, code, NAPI_AUTO_LENGTH, &code_v));
  NAPI_CALL(env, napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &msg_v));
  NAPI_CALL(env, napi_create_error(env, code_v, msg_v, &err));
  NAPI_CALL(env, napi_create_int32(env, uverr, &v));
  NAPI_CALL(env, napi_set_named_property(env, err, "errno", v));
  NAPI_CALL(env, set_str(env, err, "syscall", syscall));
  if (host) NAPI_CALL(env, set_str(env, err, "address", host));
  if (host && port > 0) {
    NAPI_CALL(env, napi_create_uint32(env, port, &v));
    NAPI_CALL(env, napi_set_named_property(env, err, "port", v));
  }
  return thrown(napi_throw(env, err), msg);
}

/* A libuv call that failed (uv_poll_*): its libuv name and text. */
static napi_value throw_uv(napi_env env, int uverr, const char *call) {
  char msg[200];
  snprintf(msg, sizeof msg, "udp_batch: %s %s: %s", call, uv_err_name(uverr), uv_strerror(uverr));
  return thrown(napi_throw_error(env, uv_err_name(uverr), msg), msg);
}

static server_t *get_server(napi_env env, napi_value v) {
  napi_valuetype t;
  void *p = NULL;
  if (napi_typeof(env, v, &t) != napi_ok || t != napi_external || napi_get_value_external(env, v, &p) != napi_ok ||
      !p) {
    throw_type(env, "udp_batch: not a server handle");
    return NULL;
  }
  return (server_t *)p;
}

/* ---------- errors in the event loop (no JS caller: count, and clear what a failed call left) ---------- */

static void clear_exception(server_t *s) {
  bool pending = false;
  napi_value exc;
  if (napi_is_exception_pending(s->env, &pending) != napi_ok) {
    s->napi_errors++;
  } else if (pending && napi_get_and_clear_last_exception(s->env, &exc) != napi_ok) {
    s->napi_errors++;
  }
}

static bool loop_ok(server_t *s, napi_status st) {
  if (st == napi_ok) return true;
  s->napi_errors++;
  clear_exception(s);
  return false;
}

/* ---------- the batch path ---------- */

static void prepare_recv(server_t *s) {
  for (unsigned i = 0; i < s->batch; i++) {
    s->riov[i].iov_base = s->in + (size_t)i * s->in_slot;
    s->riov[i].iov_len = s->in_slot;
    memset(&s->rmsg[i].msg_hdr, 0, sizeof(struct msghdr));
    s->rmsg[i].msg_hdr.msg_iov = &s->riov[i];
    s->rmsg[i].msg_hdr.msg_iovlen = 1;
    s->rmsg[i].msg_hdr.msg_name = &s->addr[i];
    s->rmsg[i].msg_hdr.msg_namelen = sizeof(struct sockaddr_storage);
    s->rmsg[i].msg_len = 0;
  }
}

/* Fills meta for datagram i; returns 0 when it must be skipped. */
static int describe(server_t *s, unsigned i) {
  int32_t *m = (int32_t *)(s->meta + (size_t)i * META_BYTES);
  uint8_t *a = s->meta + (size_t)i * META_BYTES + 16;
  struct msghdr *h = &s->rmsg[i].msg_hdr;
  int len = (int)s->rmsg[i].msg_len;
  int port = 0, fam = 0;
  if (s->addr[i].ss_family == AF_INET && h->msg_namelen >= sizeof(struct sockaddr_in)) {
    struct sockaddr_in *sin = (struct sockaddr_in *)&s->addr[i];
    port = ntohs(sin->sin_port);
    fam = 4;
    memcpy(a, &sin->sin_addr, 4);
  } else if (s->addr[i].ss_family == AF_INET6 && h->msg_namelen >= sizeof(struct sockaddr_in6)) {
    struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&s->addr[i];
    port = ntohs(sin6->sin6_port);
    fam = 6;
    memcpy(a, &sin6->sin6_addr, 16);
  }
  /* Truncated (larger than a slot), unanswerable (port 0: a spoofing signature) or not IP: skip. */
  if ((h->msg_flags & MSG_TRUNC) || port == 0 || fam == 0) len = -1;
  m[0] = len;
  m[1] = port;
  m[2] = fam;
  m[3] = 0;
  s->answerable[i] = len >= 0;
  if (len < 0) s->skipped++;
  return len >= 0;
}

/* Sends msgs[0..n) with as few sendmmsg calls as the errors allow; a failing datagram is dropped. */
static void send_all(server_t *s, struct mmsghdr *msgs, unsigned n) {
  unsigned done = 0;
  while (done < n) {
    int r = sendmmsg(s->fd, msgs + done, n - done, MSG_DONTWAIT);
    if (r > 0) {
      done += (unsigned)r;
      continue;
    }
    if (r < 0 && errno == EINTR) continue;
    if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS)) {
      /* Send buffer full: drop the rest, as an overloaded network would. */
      s->send_dropped += n - done;
      return;
    }
    /* The first datagram failed on its own (EHOSTUNREACH, EPERM, EMSGSIZE...): skip it. */
    s->send_errors++;
    done++;
  }
}

static void set_send(server_t *s, unsigned k, unsigned i, void *base, size_t len) {
  s->siov[k].iov_base = base;
  s->siov[k].iov_len = len;
  memset(&s->smsg[k].msg_hdr, 0, sizeof(struct msghdr));
  s->smsg[k].msg_hdr.msg_iov = &s->siov[k];
  s->smsg[k].msg_hdr.msg_iovlen = 1;
  s->smsg[k].msg_hdr.msg_name = &s->addr[i];
  s->smsg[k].msg_hdr.msg_namelen =
      s->addr[i].ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
}

static void debug_exception(server_t *s, napi_value exc) {
  napi_value str;
  char buf[512];
  size_t bl = 0;
  if (napi_coerce_to_string(s->env, exc, &str) == napi_ok &&
      napi_get_value_string_utf8(s->env, str, buf, sizeof buf, &bl) == napi_ok) {
    fprintf(stderr, "udp_batch: callback threw: %s\n", buf);
  } else {
    clear_exception(s); /* coercion itself threw: not worth a second report */
  }
}

/*
 * Calls the JS callback for a batch of `count` datagrams; returns its result or NULL. An exception it throws is
 * cleared and counted: the JS side reports its own errors, and nothing may throw into the event loop.
 */
static napi_value call_js(server_t *s, unsigned count, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv, result = NULL;
  if (!loop_ok(s, napi_get_reference_value(env, s->cb_ref, &cb)) || !cb) return NULL;
  if (!loop_ok(s, napi_get_global(env, &recv))) return NULL; /* make_callback needs an object receiver */
  s->in_callback = 1;
  s->current = count;
  napi_status st = napi_make_callback(env, s->async_ctx, recv, cb, argc, argv, &result);
  s->in_callback = 0;
  s->current = 0;
  if (st == napi_ok) return result;
  bool pending = false;
  if (!loop_ok(s, napi_is_exception_pending(env, &pending))) return NULL;
  if (!pending) {
    s->napi_errors++;
    return NULL;
  }
  napi_value exc;
  if (!loop_ok(s, napi_get_and_clear_last_exception(env, &exc))) return NULL;
  s->js_errors++;
  if (getenv("UDP_BATCH_DEBUG")) debug_exception(s, exc);
  return NULL;
}

static void process_shared(server_t *s, unsigned n) {
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++) {
    describe(s, i);
    s->ctl[2 * i] = 0;
    s->ctl[2 * i + 1] = 0;
  }
  napi_value argv[1];
  if (!loop_ok(s, napi_create_uint32(s->env, n, &argv[0]))) return; /* the batch goes unanswered */
  call_js(s, n, 1, argv);
  if (s->closing) return;
  for (unsigned i = 0; i < n; i++) {
    int32_t off = s->ctl[2 * i], len = s->ctl[2 * i + 1];
    if (len <= 0 || !s->answerable[i]) continue;
    if (off < 0 || len > MAX_UDP_PAYLOAD || (uint32_t)off + (uint32_t)len > s->out_cap) {
      s->send_errors++;
      continue;
    }
    set_send(s, k++, i, s->out + off, (size_t)len);
  }
  if (k) send_all(s, s->smsg, k);
}

#ifdef UDP_BATCH_MEASURE
static void process_array(server_t *s, unsigned n) {
  napi_env env = s->env;
  napi_value arr, argv[2], res;
  unsigned k = 0;
  if (!loop_ok(s, napi_create_array_with_length(env, n, &arr))) return;
  for (unsigned i = 0; i < n; i++) {
    napi_value b;
    void *data;
    napi_status st = describe(s, i)
                         ? napi_create_buffer_copy(env, s->rmsg[i].msg_len, s->in + (size_t)i * s->in_slot, &data, &b)
                         : napi_get_null(env, &b);
    if (!loop_ok(s, st) || !loop_ok(s, napi_set_element(env, arr, i, b))) return;
  }
  if (!loop_ok(s, napi_create_uint32(env, n, &argv[0]))) return;
  argv[1] = arr;
  res = call_js(s, n, 2, argv);
  if (s->closing || !res) return;
  bool is_arr = false;
  if (!loop_ok(s, napi_is_array(env, res, &is_arr)) || !is_arr) return;
  /* The answers stay reachable from `res` (in this handle scope) until sendmmsg is done. */
  for (unsigned i = 0; i < n; i++) {
    napi_value v, ab;
    bool is_ta = false;
    napi_typedarray_type t;
    size_t len, boff;
    void *data;
    if (!loop_ok(s, napi_get_element(env, res, i, &v))) break;
    if (!loop_ok(s, napi_is_typedarray(env, v, &is_ta)) || !is_ta) continue;
    if (!loop_ok(s, napi_get_typedarray_info(env, v, &t, &len, &data, &ab, &boff))) continue;
    if (t != napi_uint8_array || len == 0 || len > MAX_UDP_PAYLOAD || !s->answerable[i]) continue;
    set_send(s, k++, i, data, len);
  }
  if (k) send_all(s, s->smsg, k);
}

static void process_native(server_t *s, unsigned n) {
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++) {
    if (!describe(s, i)) continue;
    uint8_t *q = s->in + (size_t)i * s->in_slot;
    unsigned len = s->rmsg[i].msg_len;
    if (len < 12) continue;
    q[2] |= 0x80; /* QR: RFC 1035 §4.1.1 */
    set_send(s, k++, i, q, len);
  }
  if (k) send_all(s, s->smsg, k);
}
#endif

/* One round of the drain: handles n received datagrams in the server's mode. */
static void process_batch(server_t *s, unsigned n) {
#ifdef UDP_BATCH_MEASURE
  if (s->mode == MODE_NATIVE) {
    process_native(s, n);
    return;
  }
  if (s->mode == MODE_ARRAY) {
    napi_handle_scope inner;
    if (!loop_ok(s, napi_open_handle_scope(s->env, &inner))) return;
    process_array(s, n);
    loop_ok(s, napi_close_handle_scope(s->env, inner));
    return;
  }
#endif
  process_shared(s, n);
}

static void on_readable(uv_poll_t *h, int status, int events) {
  server_t *s = (server_t *)h->data;
  if (s->closing || status < 0 || !(events & UV_READABLE)) return;
  napi_handle_scope scope = NULL;
  if (s->mode != MODE_NATIVE && !loop_ok(s, napi_open_handle_scope(s->env, &scope))) return;
  for (int round = 0; round < MAX_DRAINS && !s->closing; round++) {
    prepare_recv(s);
    int n = recvmmsg(s->fd, s->rmsg, s->batch, MSG_DONTWAIT, NULL);
    if (n < 0) {
      if (errno == EINTR) continue;
      break; /* EAGAIN: drained. Anything else (ICMP-induced errors...): retry on the next event. */
    }
    if (n == 0) break;
    s->batches++;
    s->packets += n;
    process_batch(s, (unsigned)n);
    if ((unsigned)n < s->batch) break;
  }
  if (scope) loop_ok(s, napi_close_handle_scope(s->env, scope));
}

/* ---------- lifetime ---------- */

static void release_refs(server_t *s) {
  napi_env env = s->env;
  napi_ref *refs[] = {&s->cb_ref, &s->in_ref, &s->meta_ref, &s->out_ref, &s->ctl_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i]) {
      loop_ok(s, napi_delete_reference(env, *refs[i]));
      *refs[i] = NULL;
    }
  }
  if (s->async_ctx) {
    loop_ok(s, napi_async_destroy(env, s->async_ctx));
    s->async_ctx = NULL;
  }
}

static void env_cleanup(void *arg);

static void unhook(server_t *s) {
  if (!s->hooked) return;
  loop_ok(s, napi_remove_env_cleanup_hook(s->env, env_cleanup, s));
  s->hooked = 0;
}

/* Runs the close() callback, if any; what it throws is cleared (close has no one left to report to). */
static void call_done(server_t *s, napi_ref done) {
  napi_env env = s->env;
  napi_handle_scope scope;
  if (!loop_ok(s, napi_open_handle_scope(env, &scope))) return;
  napi_value cb, recv, result;
  if (loop_ok(s, napi_get_reference_value(env, done, &cb)) && cb && loop_ok(s, napi_get_global(env, &recv))) {
    if (napi_make_callback(env, s->async_ctx, recv, cb, 0, NULL, &result) != napi_ok) clear_exception(s);
  }
  loop_ok(s, napi_close_handle_scope(env, scope));
}

static void on_closed(uv_handle_t *h) {
  server_t *s = (server_t *)h->data;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  unhook(s);
  napi_ref done = s->close_cb_ref;
  s->close_cb_ref = NULL;
  if (done) {
    call_done(s, done);
    loop_ok(s, napi_delete_reference(s->env, done));
  }
  release_refs(s);
  s->closed = 1;
  maybe_free(s);
}

static void start_close(server_t *s) {
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) {
    uv_poll_stop(&s->poll); /* cannot fail on an active poll handle */
    s->polling = 0;
  }
  uv_close((uv_handle_t *)&s->poll, on_closed);
}

/* Closes without calling into JS: the environment is being torn down. */
static void on_closed_quiet(uv_handle_t *h) {
  server_t *s = (server_t *)h->data;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  s->closed = 1;
  maybe_free(s);
}

/* The environment is going away (process exit, worker termination) with the server still open. */
static void env_cleanup(void *arg) {
  server_t *s = (server_t *)arg;
  s->hooked = 0; /* Node drops the hook as it runs it */
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) uv_poll_stop(&s->poll);
  s->polling = 0;
  uv_close((uv_handle_t *)&s->poll, on_closed_quiet);
}

static void finalize_handle(napi_env env, void *data, void *hint) {
  server_t *s = (server_t *)data;
  s->finalized = 1;
  maybe_free(s);
}

/* ---------- exported functions ---------- */

static napi_status make_ab(napi_env env, size_t len, void **data, napi_ref *ref, napi_value *ab) {
  napi_status st = napi_create_arraybuffer(env, len, data, ab);
  return st == napi_ok ? napi_create_reference(env, *ab, 1, ref) : st;
}

/* Binds a non-blocking UDP socket on host:port; returns the fd, or -1 with an exception thrown. */
static int open_socket(napi_env env, const char *host, uint32_t port, uint32_t fam, uint32_t *bound_port) {
  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  int ok;
  if (fam == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET, host, &a->sin_addr) == 1;
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    ok = inet_pton(AF_INET6, host, &a->sin6_addr) == 1;
    sl = sizeof *a;
  }
  if (!ok) {
    throw_sys(env, EINVAL, "bind", host, port);
    return -1;
  }
  int fd = socket(fam == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    throw_sys(env, errno, "socket", NULL, 0);
    return -1;
  }
  int one = 1, bufsz = SOCK_BUF_BYTES;
  /* `::` must not also claim the IPv4 wildcard (same as udp.ts's ipv6Only). */
  if (fam == 6 && setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one) != 0) {
    int e = errno;
    close(fd);
    throw_sys(env, e, "setsockopt", host, port);
    return -1;
  }
  /* Best effort: the kernel caps these at net.core.[rw]mem_max silently, and its default still works. */
  (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  (void)setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  const char *failed = bind(fd, (struct sockaddr *)&ss, sl) != 0                         ? "bind"
                       : getsockname(fd, (struct sockaddr *)&bound, &bl) != 0 ? "getsockname"
                                                                                         : NULL;
  if (failed) {
    int e = errno;
    close(fd);
    throw_sys(env, e, failed, host, port);
    return -1;
  }
  *bound_port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                            : ntohs(((struct sockaddr_in *)&bound)->sin_port);
  return fd;
}

/* Creates the shared buffers, references and async context of s; NULL (with an exception) on failure. */
static napi_value setup(napi_env env, server_t *s, napi_value cb, napi_value res) {
  napi_value in_ab, meta_ab, out_ab, ctl_ab, name;
  void *p;
  NAPI_CALL(env, make_ab(env, (size_t)s->batch * s->in_slot, &p, &s->in_ref, &in_ab));
  s->in = p;
  NAPI_CALL(env, make_ab(env, (size_t)s->batch * META_BYTES, &p, &s->meta_ref, &meta_ab));
  s->meta = p;
  NAPI_CALL(env, make_ab(env, s->out_cap, &p, &s->out_ref, &out_ab));
  s->out = p;
  NAPI_CALL(env, make_ab(env, (size_t)s->batch * 8, &p, &s->ctl_ref, &ctl_ab));
  s->ctl = p;
  if (s->mode != MODE_NATIVE) NAPI_CALL(env, napi_create_reference(env, cb, 1, &s->cb_ref));
  NAPI_CALL(env, napi_create_string_utf8(env, "dane-ns:udp-batch", NAPI_AUTO_LENGTH, &name));
  NAPI_CALL(env, napi_async_init(env, NULL, name, &s->async_ctx));
  NAPI_CALL(env, napi_set_named_property(env, res, "in", in_ab));
  NAPI_CALL(env, napi_set_named_property(env, res, "meta", meta_ab));
  NAPI_CALL(env, napi_set_named_property(env, res, "out", out_ab));
  NAPI_CALL(env, napi_set_named_property(env, res, "ctl", ctl_ab));
  return res;
}

/* open(host, port, family 4|6, batch, inSlot, outCap, mode, onBatch) -> { handle, port, in, meta, out, ctl } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) return throw_type(env, "udp_batch.open: 8 arguments expected");
  char host[64];
  size_t hl = 0;
  uint32_t port, fam, batch, in_slot, out_cap, mode;
  napi_valuetype cbt;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok ||
      napi_get_value_uint32(env, argv[1], &port) != napi_ok || napi_get_value_uint32(env, argv[2], &fam) != napi_ok ||
      napi_get_value_uint32(env, argv[3], &batch) != napi_ok ||
      napi_get_value_uint32(env, argv[4], &in_slot) != napi_ok ||
      napi_get_value_uint32(env, argv[5], &out_cap) != napi_ok ||
      napi_get_value_uint32(env, argv[6], &mode) != napi_ok || napi_typeof(env, argv[7], &cbt) != napi_ok) {
    return throw_type(env, "udp_batch.open: bad arguments");
  }
  if (mode > MODE_NATIVE) return throw_range(env, "udp_batch.open: mode out of range");
  if (mode > MAX_MODE)
    return throw_range(env, "udp_batch.open: mode 1 (array) and 2 (native) are measurement-only: built with "
                            "UDP_BATCH_MEASURE (bench/udp-ceiling.sh builds such a copy of the addon)");
  if (port > 65535 || (fam != 4 && fam != 6) || batch < 1 || batch > MAX_BATCH || in_slot < 512 ||
      in_slot > 65536 || out_cap < 512 || out_cap > (1u << 26) || (mode != MODE_NATIVE && cbt != napi_function)) {
    return throw_range(env, "udp_batch.open: argument out of range");
  }

  uint32_t bport = 0;
  int fd = open_socket(env, host, port, fam, &bport);
  if (fd < 0) return NULL;

  server_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    return thrown(napi_throw_error(env, "ENOMEM", "udp_batch: out of memory"), "udp_batch: out of memory");
  }
  s->env = env;
  s->fd = fd;
  s->mode = (int)mode;
  s->batch = batch;
  s->in_slot = in_slot;
  s->out_cap = out_cap;

  napi_value res = NULL, handle, v;
  uv_loop_t *loop = NULL;
  napi_status st = napi_create_object(env, &res);
  if (st != napi_ok) throw_napi(env, st, "napi_create_object");
  if (st != napi_ok || !setup(env, s, argv[7], res)) {
    release_refs(s);
    close(fd);
    free(s);
    return NULL;
  }
  if ((st = napi_get_uv_event_loop(env, &loop)) != napi_ok || !loop) {
    if (st != napi_ok) throw_napi(env, st, "napi_get_uv_event_loop");
    else throw_type(env, "udp_batch: no event loop");
    release_refs(s);
    close(fd);
    free(s);
    return NULL;
  }
  int uerr = uv_poll_init(loop, &s->poll, fd);
  if (uerr != 0) {
    release_refs(s);
    close(fd);
    free(s);
    return throw_uv(env, uerr, "uv_poll_init");
  }
  s->poll.data = s;
  /* From here on the struct is freed by on_closed + finalize_handle. */
  if ((st = napi_create_external(env, s, finalize_handle, NULL, &handle)) != napi_ok) {
    s->finalized = 1; /* nothing will finalize it */
    start_close(s);
    return throw_napi(env, st, "napi_create_external");
  }
  if ((st = napi_add_env_cleanup_hook(env, env_cleanup, s)) != napi_ok) {
    start_close(s);
    return throw_napi(env, st, "napi_add_env_cleanup_hook");
  }
  s->hooked = 1;
  if ((uerr = uv_poll_start(&s->poll, UV_READABLE, on_readable)) != 0) {
    start_close(s);
    return throw_uv(env, uerr, "uv_poll_start");
  }
  s->polling = 1;
  if ((st = napi_set_named_property(env, res, "handle", handle)) != napi_ok ||
      (st = napi_create_uint32(env, bport, &v)) != napi_ok || (st = napi_set_named_property(env, res, "port", v)) != napi_ok) {
    start_close(s);
    return throw_napi(env, st, "napi_set_named_property");
  }
  return res;
}

/*
 * sendOne(handle, i, bytes): answers datagram i of the current batch at once (for answers too big for `out`).
 * Only inside the batch callback and for i below its count: the source addresses are those of that batch, and the
 * next recvmmsg overwrites them. Returns false when the server is closing or the send failed (counted).
 */
static napi_value js_send_one(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], r;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 3) return throw_type(env, "udp_batch.sendOne: 3 arguments expected");
  server_t *s = get_server(env, argv[0]);
  if (!s) return NULL;
  if (!s->in_callback) return throw_range(env, "udp_batch.sendOne: called outside the batch callback");
  uint32_t i;
  bool is_ta = false;
  napi_typedarray_type t;
  size_t len, boff;
  void *data;
  napi_value ab;
  if (napi_get_value_uint32(env, argv[1], &i) != napi_ok) return throw_type(env, "udp_batch.sendOne: bad index");
  if (i >= s->current) {
    char msg[120];
    snprintf(msg, sizeof msg, "udp_batch.sendOne: datagram %u is beyond this batch of %u", i, s->current);
    return throw_range(env, msg);
  }
  if (!s->answerable[i]) return throw_range(env, "udp_batch.sendOne: that datagram was skipped (no address)");
  NAPI_CALL(env, napi_is_typedarray(env, argv[2], &is_ta));
  if (!is_ta) return throw_type(env, "udp_batch.sendOne: bytes must be a Uint8Array");
  NAPI_CALL(env, napi_get_typedarray_info(env, argv[2], &t, &len, &data, &ab, &boff));
  if (t != napi_uint8_array) return throw_type(env, "udp_batch.sendOne: bytes must be a Uint8Array");
  if (len == 0 || len > MAX_UDP_PAYLOAD) return throw_range(env, "udp_batch.sendOne: 1..65507 bytes expected");
  bool sent = false;
  if (!s->closing) {
    set_send(s, 0, i, data, len);
    /* smsg[0] is free here: the batch's own send list is only built after the callback returns. */
    sent = sendmsg(s->fd, &s->smsg[0].msg_hdr, MSG_DONTWAIT) >= 0;
    if (!sent) s->send_errors++;
  }
  NAPI_CALL(env, napi_get_boolean(env, sent, &r));
  return r;
}

/* stats(handle) -> [batches, packets, skipped, sendErrors, sendDropped, jsErrors, napiErrors] */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "udp_batch.stats: a server handle expected");
  server_t *s = get_server(env, argv[0]);
  if (!s) return NULL;
  double vals[N_STATS] = {s->batches,      s->packets,   s->skipped,    s->send_errors,
                          s->send_dropped, s->js_errors, s->napi_errors};
  NAPI_CALL(env, napi_create_array_with_length(env, N_STATS, &arr));
  for (uint32_t i = 0; i < N_STATS; i++) {
    NAPI_CALL(env, napi_create_double(env, vals[i], &v));
    NAPI_CALL(env, napi_set_element(env, arr, i, v));
  }
  return arr;
}

/* close(handle, done?): stops reading; `done` runs once the fd is closed. Safe inside the batch callback. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  NAPI_CALL(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 1) return throw_type(env, "udp_batch.close: a server handle expected");
  server_t *s = get_server(env, argv[0]);
  if (!s) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) NAPI_CALL(env, napi_typeof(env, argv[1], &t));
  if (t != napi_undefined && t != napi_function) return throw_type(env, "udp_batch.close: done must be a function");
  if (s->closing) {
    /* Already closing (or torn down): nothing more will run; the caller keeps its own promise. */
    return NULL;
  }
  if (t == napi_function) NAPI_CALL(env, napi_create_reference(env, argv[1], 1, &s->close_cb_ref));
  start_close(s);
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor props[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_default, NULL},
      {"sendOne", NULL, js_send_one, NULL, NULL, NULL, napi_default, NULL},
      {"stats", NULL, js_stats, NULL, NULL, NULL, napi_default, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_default, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof props / sizeof props[0], props));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
