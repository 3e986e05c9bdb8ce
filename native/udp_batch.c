/*
 * udp_batch: the batched UDP engine of dane-ns (recvmmsg/sendmmsg), used by src/server/udp-batch.ts.
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
 * An answer that does not fit `out` can be sent at once with sendOne(handle, i, bytes).
 *
 * Modes (the last two exist to measure the cost of the JS side):
 *   0 shared  cb(count) reads/writes the shared buffers above (no per-datagram N-API call)
 *   1 array   cb(count, Buffer[]) gets a fresh Buffer per datagram and returns (Uint8Array|null)[]
 *   2 native  no JS at all: C echoes each query with QR set (the syscall ceiling)
 *
 * Errors never throw out of the loop: EAGAIN ends a drain, other receive errors end it too (the next readable
 * event retries), send errors drop that one datagram and are counted.
 *
 * Linux only (recvmmsg/sendmmsg).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
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
#define MAX_DRAINS 16          /* full batches handled per readable event before yielding to the loop */
#define MAX_UDP_PAYLOAD 65507
#define SOCK_BUF_BYTES (4 * 1024 * 1024)

enum { MODE_SHARED = 0, MODE_ARRAY = 1, MODE_NATIVE = 2 };

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
  int in_callback;
  napi_ref cb_ref, close_cb_ref, in_ref, meta_ref, out_ref, ctl_ref;
  napi_async_context async_ctx;
  uint8_t *in;
  uint8_t *meta;
  uint8_t *out;
  int32_t *ctl;
  uint8_t *scratch;  /* native mode: echo source */
  struct mmsghdr rmsg[MAX_BATCH];
  struct mmsghdr smsg[MAX_BATCH];
  struct iovec riov[MAX_BATCH];
  struct iovec siov[MAX_BATCH];
  struct sockaddr_storage addr[MAX_BATCH];
  /* counters */
  double batches, packets, skipped, send_errors, send_dropped, js_errors;
} server_t;

static void maybe_free(server_t *s) {
  if (s->closed && s->finalized) {
    free(s->scratch);
    free(s);
  }
}

/* ---------- helpers ---------- */

#define CHECK(call)                                                          \
  do {                                                                       \
    if ((call) != napi_ok) {                                                 \
      return NULL;                                                           \
    }                                                                        \
  } while (0)

static napi_value throw_errno(napi_env env, int err, const char *what) {
  char msg[160];
  const char *code = NULL;
  switch (err) {
    case EADDRINUSE: code = "EADDRINUSE"; break;
    case EACCES: code = "EACCES"; break;
    case EADDRNOTAVAIL: code = "EADDRNOTAVAIL"; break;
    case EAFNOSUPPORT: code = "EAFNOSUPPORT"; break;
    case EINVAL: code = "EINVAL"; break;
    case EMFILE: code = "EMFILE"; break;
    default: code = "EIO"; break;
  }
  snprintf(msg, sizeof msg, "%s %s: %s", what, code, strerror(err));
  napi_throw_error(env, code, msg);
  return NULL;
}

static int get_u32(napi_env env, napi_value v, uint32_t *out) {
  return napi_get_value_uint32(env, v, out) == napi_ok;
}

static server_t *get_server(napi_env env, napi_value v) {
  void *p = NULL;
  if (napi_get_value_external(env, v, &p) != napi_ok || !p) {
    napi_throw_type_error(env, NULL, "udp_batch: not a server handle");
    return NULL;
  }
  return (server_t *)p;
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

/* Calls the JS callback; returns its result or NULL (exception cleared: the JS side reports its own errors). */
static napi_value call_js(server_t *s, size_t argc, napi_value *argv) {
  napi_env env = s->env;
  napi_value cb, recv, result = NULL;
  if (napi_get_reference_value(env, s->cb_ref, &cb) != napi_ok || !cb) return NULL;
  napi_get_global(env, &recv); /* make_callback needs an object receiver */
  s->in_callback = 1;
  napi_status st = napi_make_callback(env, s->async_ctx, recv, cb, argc, argv, &result);
  s->in_callback = 0;
  if (st != napi_ok) {
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (pending) {
      napi_value exc;
      napi_get_and_clear_last_exception(env, &exc);
      s->js_errors++;
      if (getenv("UDP_BATCH_DEBUG")) {
        napi_value str;
        char buf[512];
        size_t bl = 0;
        if (napi_coerce_to_string(env, exc, &str) == napi_ok &&
            napi_get_value_string_utf8(env, str, buf, sizeof buf, &bl) == napi_ok)
          fprintf(stderr, "udp_batch: callback threw: %s\n", buf);
      }
    }
    return NULL;
  }
  return result;
}

static unsigned process_shared(server_t *s, unsigned n) {
  napi_env env = s->env;
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++) {
    describe(s, i);
    s->ctl[2 * i] = 0;
    s->ctl[2 * i + 1] = 0;
  }
  napi_value argv[1];
  napi_create_uint32(env, n, &argv[0]);
  call_js(s, 1, argv);
  if (s->closing) return 0;
  for (unsigned i = 0; i < n; i++) {
    int32_t off = s->ctl[2 * i], len = s->ctl[2 * i + 1];
    if (len <= 0) continue;
    if (off < 0 || len > MAX_UDP_PAYLOAD || (uint32_t)off + (uint32_t)len > s->out_cap) {
      s->send_errors++;
      continue;
    }
    set_send(s, k++, i, s->out + off, (size_t)len);
  }
  if (k) send_all(s, s->smsg, k);
  return k;
}

static unsigned process_array(server_t *s, unsigned n) {
  napi_env env = s->env;
  napi_value arr, argv[2], res;
  unsigned k = 0;
  if (napi_create_array_with_length(env, n, &arr) != napi_ok) return 0;
  for (unsigned i = 0; i < n; i++) {
    napi_value b;
    if (describe(s, i)) {
      void *data;
      napi_create_buffer_copy(env, s->rmsg[i].msg_len, s->in + (size_t)i * s->in_slot, &data, &b);
    } else {
      napi_get_null(env, &b);
    }
    napi_set_element(env, arr, i, b);
  }
  napi_create_uint32(env, n, &argv[0]);
  argv[1] = arr;
  res = call_js(s, 2, argv);
  if (s->closing || !res) return 0;
  bool is_arr = false;
  napi_is_array(env, res, &is_arr);
  if (!is_arr) return 0;
  /* The answers stay reachable from `res` (in this handle scope) until sendmmsg is done. */
  for (unsigned i = 0; i < n; i++) {
    napi_value v;
    bool is_ta = false;
    if (napi_get_element(env, res, i, &v) != napi_ok) break;
    if (napi_is_typedarray(env, v, &is_ta) != napi_ok || !is_ta) continue;
    napi_typedarray_type t;
    size_t len, boff;
    void *data;
    napi_value ab;
    if (napi_get_typedarray_info(env, v, &t, &len, &data, &ab, &boff) != napi_ok) continue;
    if (t != napi_uint8_array || len == 0 || len > MAX_UDP_PAYLOAD) continue;
    set_send(s, k++, i, data, len);
  }
  if (k) send_all(s, s->smsg, k);
  return k;
}

static unsigned process_native(server_t *s, unsigned n) {
  unsigned k = 0;
  for (unsigned i = 0; i < n; i++) {
    if (!describe(s, i)) continue;
    uint8_t *q = s->in + (size_t)i * s->in_slot;
    unsigned len = s->rmsg[i].msg_len;
    if (len < 12) continue;
    q[2] |= 0x80;
    set_send(s, k++, i, q, len);
  }
  if (k) send_all(s, s->smsg, k);
  return k;
}

static void on_readable(uv_poll_t *h, int status, int events) {
  server_t *s = (server_t *)h->data;
  if (s->closing || status < 0 || !(events & UV_READABLE)) return;
  napi_handle_scope scope = NULL;
  if (s->mode != MODE_NATIVE && napi_open_handle_scope(s->env, &scope) != napi_ok) return;
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
    if (s->mode == MODE_SHARED) {
      process_shared(s, (unsigned)n);
    } else if (s->mode == MODE_ARRAY) {
      napi_handle_scope inner;
      if (napi_open_handle_scope(s->env, &inner) == napi_ok) {
        process_array(s, (unsigned)n);
        napi_close_handle_scope(s->env, inner);
      }
    } else {
      process_native(s, (unsigned)n);
    }
    if ((unsigned)n < s->batch) break;
  }
  if (scope) napi_close_handle_scope(s->env, scope);
}

/* ---------- lifetime ---------- */

static void release_refs(server_t *s) {
  napi_env env = s->env;
  napi_ref *refs[] = {&s->cb_ref, &s->in_ref, &s->meta_ref, &s->out_ref, &s->ctl_ref};
  for (size_t i = 0; i < sizeof refs / sizeof refs[0]; i++) {
    if (*refs[i]) {
      napi_delete_reference(env, *refs[i]);
      *refs[i] = NULL;
    }
  }
  if (s->async_ctx) {
    napi_async_destroy(env, s->async_ctx);
    s->async_ctx = NULL;
  }
}

static void env_cleanup(void *arg);

static void on_closed(uv_handle_t *h) {
  server_t *s = (server_t *)h->data;
  napi_env env = s->env;
  if (s->fd >= 0) close(s->fd);
  s->fd = -1;
  napi_remove_env_cleanup_hook(env, env_cleanup, s);
  napi_ref done = s->close_cb_ref;
  s->close_cb_ref = NULL;
  if (done) {
    napi_handle_scope scope;
    if (napi_open_handle_scope(env, &scope) == napi_ok) {
      napi_value cb, recv, result;
      if (napi_get_reference_value(env, done, &cb) == napi_ok && cb) {
        napi_get_global(env, &recv); /* make_callback needs an object receiver */
        if (napi_make_callback(env, s->async_ctx, recv, cb, 0, NULL, &result) != napi_ok) {
          bool pending = false;
          napi_is_exception_pending(env, &pending);
          if (pending) {
            napi_value exc;
            napi_get_and_clear_last_exception(env, &exc);
          }
        }
      }
      napi_close_handle_scope(env, scope);
    }
    napi_delete_reference(env, done);
  }
  release_refs(s);
  s->closed = 1;
  maybe_free(s);
}

static void start_close(server_t *s) {
  if (s->closing) return;
  s->closing = 1;
  if (s->polling) {
    uv_poll_stop(&s->poll);
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

static napi_value make_ab(napi_env env, size_t len, void **data, napi_ref *ref) {
  napi_value ab;
  if (napi_create_arraybuffer(env, len, data, &ab) != napi_ok) return NULL;
  if (napi_create_reference(env, ab, 1, ref) != napi_ok) return NULL;
  return ab;
}

/* open(host, port, family 4|6, batch, inSlot, outCap, mode, onBatch) -> { handle, port, in, meta, out, ctl } */
static napi_value js_open(napi_env env, napi_callback_info info) {
  size_t argc = 8;
  napi_value argv[8];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 8) {
    napi_throw_type_error(env, NULL, "udp_batch.open: 8 arguments expected");
    return NULL;
  }
  char host[64];
  size_t hl = 0;
  uint32_t port, fam, batch, in_slot, out_cap, mode;
  if (napi_get_value_string_utf8(env, argv[0], host, sizeof host, &hl) != napi_ok || !get_u32(env, argv[1], &port) ||
      !get_u32(env, argv[2], &fam) || !get_u32(env, argv[3], &batch) || !get_u32(env, argv[4], &in_slot) ||
      !get_u32(env, argv[5], &out_cap) || !get_u32(env, argv[6], &mode)) {
    napi_throw_type_error(env, NULL, "udp_batch.open: bad arguments");
    return NULL;
  }
  napi_valuetype cbt;
  napi_typeof(env, argv[7], &cbt);
  if (port > 65535 || (fam != 4 && fam != 6) || batch < 1 || batch > MAX_BATCH || in_slot < 512 ||
      in_slot > 65536 || out_cap < 512 || out_cap > (1u << 26) || mode > MODE_NATIVE ||
      (mode != MODE_NATIVE && cbt != napi_function)) {
    napi_throw_range_error(env, NULL, "udp_batch.open: argument out of range");
    return NULL;
  }

  struct sockaddr_storage ss;
  socklen_t sl;
  memset(&ss, 0, sizeof ss);
  if (fam == 4) {
    struct sockaddr_in *a = (struct sockaddr_in *)&ss;
    a->sin_family = AF_INET;
    a->sin_port = htons((uint16_t)port);
    if (inet_pton(AF_INET, host, &a->sin_addr) != 1) return throw_errno(env, EINVAL, "bind");
    sl = sizeof *a;
  } else {
    struct sockaddr_in6 *a = (struct sockaddr_in6 *)&ss;
    a->sin6_family = AF_INET6;
    a->sin6_port = htons((uint16_t)port);
    if (inet_pton(AF_INET6, host, &a->sin6_addr) != 1) return throw_errno(env, EINVAL, "bind");
    sl = sizeof *a;
  }

  int fd = socket(fam == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) return throw_errno(env, errno, "socket");
  int one = 1, bufsz = SOCK_BUF_BYTES;
  /* `::` must not also claim the IPv4 wildcard (same as udp.ts's ipv6Only). */
  if (fam == 6) setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  /* Capped by net.core.[rw]mem_max; the default still works. */
  setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bufsz, sizeof bufsz);
  setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &bufsz, sizeof bufsz);
  if (bind(fd, (struct sockaddr *)&ss, sl) != 0) {
    int e = errno;
    close(fd);
    return throw_errno(env, e, "bind");
  }
  struct sockaddr_storage bound;
  socklen_t bl = sizeof bound;
  getsockname(fd, (struct sockaddr *)&bound, &bl);
  int bport = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&bound)->sin6_port)
                                           : ntohs(((struct sockaddr_in *)&bound)->sin_port);

  server_t *s = calloc(1, sizeof *s);
  if (!s) {
    close(fd);
    napi_throw_error(env, "ENOMEM", "udp_batch: out of memory");
    return NULL;
  }
  s->env = env;
  s->fd = fd;
  s->mode = (int)mode;
  s->batch = batch;
  s->in_slot = in_slot;
  s->out_cap = out_cap;
  s->finalized = 0;

  napi_value res, v, in_ab, meta_ab, out_ab, ctl_ab, handle, name;
  void *p;
  int ok = napi_create_object(env, &res) == napi_ok;
  ok = ok && (in_ab = make_ab(env, (size_t)batch * in_slot, &p, &s->in_ref)) != NULL;
  if (ok) s->in = p;
  ok = ok && (meta_ab = make_ab(env, (size_t)batch * META_BYTES, &p, &s->meta_ref)) != NULL;
  if (ok) s->meta = p;
  ok = ok && (out_ab = make_ab(env, out_cap, &p, &s->out_ref)) != NULL;
  if (ok) s->out = p;
  ok = ok && (ctl_ab = make_ab(env, (size_t)batch * 8, &p, &s->ctl_ref)) != NULL;
  if (ok) s->ctl = p;
  if (ok && mode != MODE_NATIVE) ok = napi_create_reference(env, argv[7], 1, &s->cb_ref) == napi_ok;
  ok = ok && napi_create_string_utf8(env, "dane-ns:udp-batch", NAPI_AUTO_LENGTH, &name) == napi_ok;
  ok = ok && napi_async_init(env, NULL, name, &s->async_ctx) == napi_ok;
  uv_loop_t *loop = NULL;
  ok = ok && napi_get_uv_event_loop(env, &loop) == napi_ok && loop;
  if (!ok) {
    release_refs(s);
    close(fd);
    free(s);
    bool pending = false;
    napi_is_exception_pending(env, &pending);
    if (!pending) napi_throw_error(env, NULL, "udp_batch: setup failed");
    return NULL;
  }
  if (uv_poll_init(loop, &s->poll, fd) != 0) {
    release_refs(s);
    close(fd);
    free(s);
    napi_throw_error(env, NULL, "udp_batch: uv_poll_init failed");
    return NULL;
  }
  s->poll.data = s;
  /* From here on the struct is freed by on_closed + finalize_handle. */
  if (napi_create_external(env, s, finalize_handle, NULL, &handle) != napi_ok) {
    s->finalized = 1; /* nothing will finalize it */
    start_close(s);
    napi_throw_error(env, NULL, "udp_batch: setup failed");
    return NULL;
  }
  napi_add_env_cleanup_hook(env, env_cleanup, s);
  if (uv_poll_start(&s->poll, UV_READABLE, on_readable) != 0) {
    start_close(s);
    napi_throw_error(env, NULL, "udp_batch: uv_poll_start failed");
    return NULL;
  }
  s->polling = 1;

  napi_set_named_property(env, res, "handle", handle);
  napi_create_uint32(env, (uint32_t)bport, &v);
  napi_set_named_property(env, res, "port", v);
  napi_set_named_property(env, res, "in", in_ab);
  napi_set_named_property(env, res, "meta", meta_ab);
  napi_set_named_property(env, res, "out", out_ab);
  napi_set_named_property(env, res, "ctl", ctl_ab);
  return res;
}

/* sendOne(handle, i, bytes): answers datagram i of the current batch at once (for answers too big for `out`). */
static napi_value js_send_one(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3], r;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  server_t *s = argc >= 3 ? get_server(env, argv[0]) : NULL;
  if (!s) return NULL;
  uint32_t i;
  napi_typedarray_type t;
  size_t len, boff;
  void *data;
  napi_value ab;
  bool sent = false;
  if (!s->closing && get_u32(env, argv[1], &i) && i < s->batch &&
      napi_get_typedarray_info(env, argv[2], &t, &len, &data, &ab, &boff) == napi_ok && t == napi_uint8_array &&
      len > 0 && len <= MAX_UDP_PAYLOAD) {
    set_send(s, 0, i, data, len);
    /* smsg[0] is free here: the batch's own send list is only built after the callback returns. */
    sent = sendmsg(s->fd, &s->smsg[0].msg_hdr, MSG_DONTWAIT) >= 0;
    if (!sent) s->send_errors++;
  }
  napi_get_boolean(env, sent, &r);
  return r;
}

/* stats(handle) -> [batches, packets, skipped, sendErrors, sendDropped, jsErrors] */
static napi_value js_stats(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1], arr, v;
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  server_t *s = argc >= 1 ? get_server(env, argv[0]) : NULL;
  if (!s) return NULL;
  double vals[6] = {s->batches, s->packets, s->skipped, s->send_errors, s->send_dropped, s->js_errors};
  CHECK(napi_create_array_with_length(env, 6, &arr));
  for (uint32_t i = 0; i < 6; i++) {
    napi_create_double(env, vals[i], &v);
    napi_set_element(env, arr, i, v);
  }
  return arr;
}

/* close(handle, done): stops reading; `done` runs once the fd is closed. Safe inside the batch callback. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  CHECK(napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  server_t *s = argc >= 1 ? get_server(env, argv[0]) : NULL;
  if (!s) return NULL;
  napi_valuetype t = napi_undefined;
  if (argc >= 2) napi_typeof(env, argv[1], &t);
  if (s->closing) {
    /* Already closing (or torn down): nothing more will run; the caller keeps its own promise. */
    return NULL;
  }
  if (t == napi_function) napi_create_reference(env, argv[1], 1, &s->close_cb_ref);
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
  napi_define_properties(env, exports, sizeof props / sizeof props[0], props);
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
