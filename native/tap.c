/*
 * Node-API glue of the chimney TAP addon: argument checks, error objects, exports, module init.
 *
 * Every napi_* status is checked (NAPI_CALL); bad arguments throw TypeError/RangeError with
 * Node's ERR_INVALID_ARG_* codes; a failed system call throws an Error shaped like Node's system
 * errors (code = errno name, errno = -errno as libuv reports it, syscall, device). Nothing here
 * asserts, aborts or prints: the process survives whatever a caller passes in.
 *
 * The frame memory is owned by JS: the receive arena, the transmit arena and their length
 * arrays are ArrayBuffers/typed arrays handed to start() once. This file keeps a strong
 * reference to each until the handle is closed, so their backing stores (which V8 never moves)
 * stay valid while C writes into them.
 */
#include <errno.h>
#include <linux/if_tun.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "poll.h"
#include "tap_linux.h"

/* Random tag that marks an External as one of our TAP handles (napi_type_tag_object). */
static const napi_type_tag CHN_TAP_TAG = {0x6368696d6e657954ULL, 0x41505f48414e444cULL};

/* Receive slots smaller than this could not hold even a minimal Ethernet frame plus header. */
#define CHN_MIN_SLOT 128

static void throw_napi_failure(napi_env env, napi_status status, const char *call) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) == napi_ok && pending) return;
  const napi_extended_error_info *info = NULL;
  char msg[256];
  if (napi_get_last_error_info(env, &info) == napi_ok && info != NULL && info->error_message != NULL) {
    snprintf(msg, sizeof msg, "Node-API call failed (%s): %s", call, info->error_message);
  } else {
    snprintf(msg, sizeof msg, "Node-API call failed (%s): status %d", call, (int)status);
  }
  napi_throw_error(env, "ERR_CHIMNEY_NAPI", msg);
}

/* Checks a napi_* status; on failure makes sure an exception is pending and returns NULL to JS. */
#define NAPI_CALL(env, call)                     \
  do {                                           \
    napi_status status_ = (call);                \
    if (status_ != napi_ok) {                    \
      throw_napi_failure((env), status_, #call); \
      return NULL;                               \
    }                                            \
  } while (0)

/* Like NAPI_CALL, for helpers that return 0 / -1 instead of a napi_value. */
#define NAPI_CALL_INT(env, call)                 \
  do {                                           \
    napi_status status_ = (call);                \
    if (status_ != napi_ok) {                    \
      throw_napi_failure((env), status_, #call); \
      return -1;                                 \
    }                                            \
  } while (0)

/* ---- system errors ------------------------------------------------------------------------ */

struct errno_entry {
  int num;
  const char *name;
  const char *text;
};

/* The errnos a TAP, its ioctls and its reads and writes can produce (errno(3), tuntap.rst). */
static const struct errno_entry ERRNOS[] = {
    {EPERM, "EPERM", "operation not permitted"},
    {ENOENT, "ENOENT", "no such file or directory"},
    {EINTR, "EINTR", "interrupted system call"},
    {EIO, "EIO", "i/o error"},
    {ENXIO, "ENXIO", "no such device or address"},
    {EBADF, "EBADF", "bad file descriptor"},
    {EAGAIN, "EAGAIN", "resource temporarily unavailable"},
    {ENOMEM, "ENOMEM", "not enough memory"},
    {EACCES, "EACCES", "permission denied"},
    {EFAULT, "EFAULT", "bad address"},
    {EBUSY, "EBUSY", "resource busy or locked"},
    {EEXIST, "EEXIST", "file already exists"},
    {ENODEV, "ENODEV", "no such device"},
    {EINVAL, "EINVAL", "invalid argument"},
    {ENFILE, "ENFILE", "file table overflow"},
    {EMFILE, "EMFILE", "too many open files"},
    {ENOTTY, "ENOTTY", "inappropriate ioctl for device"},
    {ENOSPC, "ENOSPC", "no space left on device"},
    {ERANGE, "ERANGE", "result out of range"},
    {ENAMETOOLONG, "ENAMETOOLONG", "name too long"},
    {EBADFD, "EBADFD", "file descriptor in bad state"},
    {EMSGSIZE, "EMSGSIZE", "message too long"},
    {EOPNOTSUPP, "EOPNOTSUPP", "operation not supported"},
    {EAFNOSUPPORT, "EAFNOSUPPORT", "address family not supported"},
    {EADDRNOTAVAIL, "EADDRNOTAVAIL", "address not available"},
    {ENETDOWN, "ENETDOWN", "network is down"},
    {ENOBUFS, "ENOBUFS", "no buffer space available"},
};

static void errno_describe(int num, const char **name, const char **text, char *fallback, size_t fallback_len) {
  for (size_t i = 0; i < sizeof ERRNOS / sizeof ERRNOS[0]; i++) {
    if (ERRNOS[i].num == num) {
      *name = ERRNOS[i].name;
      *text = ERRNOS[i].text;
      return;
    }
  }
  /* libuv knows the names and texts of the rest of the common errnos (it uses -errno on Unix). */
  size_t half = fallback_len / 2;
  uv_err_name_r(-num, fallback, half);
  uv_strerror_r(-num, fallback + half, fallback_len - half);
  *name = fallback;
  *text = fallback + half;
}

/* Builds an Error shaped like Node's system errors for `errnum` (positive) from `syscall` on `device`. */
static int make_system_error(napi_env env, int errnum, const char *syscall, const char *device, napi_value *out) {
  const char *name, *text;
  char fallback[160];
  errno_describe(errnum, &name, &text, fallback, sizeof fallback);
  char msg[256];
  if (device != NULL && device[0] != '\0') {
    snprintf(msg, sizeof msg, "%s: %s, %s on TAP device '%s'", name, text, syscall, device);
  } else {
    snprintf(msg, sizeof msg, "%s: %s, %s", name, text, syscall);
  }
  napi_value code, message, err, v;
  NAPI_CALL_INT(env, napi_create_string_utf8(env, name, NAPI_AUTO_LENGTH, &code));
  NAPI_CALL_INT(env, napi_create_string_utf8(env, msg, NAPI_AUTO_LENGTH, &message));
  NAPI_CALL_INT(env, napi_create_error(env, code, message, &err));
  NAPI_CALL_INT(env, napi_create_int32(env, -errnum, &v));
  NAPI_CALL_INT(env, napi_set_named_property(env, err, "errno", v));
  NAPI_CALL_INT(env, napi_create_string_utf8(env, syscall, NAPI_AUTO_LENGTH, &v));
  NAPI_CALL_INT(env, napi_set_named_property(env, err, "syscall", v));
  if (device != NULL && device[0] != '\0') {
    NAPI_CALL_INT(env, napi_create_string_utf8(env, device, NAPI_AUTO_LENGTH, &v));
    NAPI_CALL_INT(env, napi_set_named_property(env, err, "device", v));
  }
  *out = err;
  return 0;
}

static void throw_system_error(napi_env env, int errnum, const char *syscall, const char *device) {
  napi_value err;
  if (make_system_error(env, errnum, syscall, device, &err) == 0) napi_throw(env, err);
}

/* ---- argument checks ---------------------------------------------------------------------- */

static napi_value throw_type(napi_env env, const char *msg) {
  napi_throw_type_error(env, "ERR_INVALID_ARG_TYPE", msg);
  return NULL;
}

static napi_value throw_range(napi_env env, const char *msg) {
  napi_throw_range_error(env, "ERR_OUT_OF_RANGE", msg);
  return NULL;
}

/* Fetches exactly `n` arguments; fewer is a TypeError (Node's ERR_MISSING_ARGS). */
static int get_args(napi_env env, napi_callback_info info, size_t n, napi_value *argv) {
  size_t argc = n;
  NAPI_CALL_INT(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < n) {
    char msg[96];
    snprintf(msg, sizeof msg, "expected %zu arguments, got %zu", n, argc);
    napi_throw_type_error(env, "ERR_MISSING_ARGS", msg);
    return -1;
  }
  return 0;
}

static int is_type(napi_env env, napi_value v, napi_valuetype want) {
  napi_valuetype t;
  return napi_typeof(env, v, &t) == napi_ok && t == want;
}

/* A device name: a string of 0..IFNAMSIZ-1 UTF-8 bytes (the kernel's limit, netdevice(7)). */
static int get_name(napi_env env, napi_value v, const char *what, char out[IFNAMSIZ]) {
  if (!is_type(env, v, napi_string)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a string", what);
    throw_type(env, msg);
    return -1;
  }
  size_t len = 0;
  NAPI_CALL_INT(env, napi_get_value_string_utf8(env, v, NULL, 0, &len));
  if (len >= IFNAMSIZ) {
    char msg[128];
    snprintf(msg, sizeof msg, "%s must be at most %d bytes (IFNAMSIZ - 1), got %zu", what, IFNAMSIZ - 1, len);
    napi_throw_range_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return -1;
  }
  NAPI_CALL_INT(env, napi_get_value_string_utf8(env, v, out, IFNAMSIZ, &len));
  if (strlen(out) != len) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must not contain NUL characters", what);
    napi_throw_type_error(env, "ERR_INVALID_ARG_VALUE", msg);
    return -1;
  }
  return 0;
}

static int get_u32(napi_env env, napi_value v, const char *what, uint32_t min, uint32_t max, uint32_t *out) {
  char msg[128];
  if (!is_type(env, v, napi_number)) {
    snprintf(msg, sizeof msg, "%s must be a number", what);
    throw_type(env, msg);
    return -1;
  }
  double d;
  NAPI_CALL_INT(env, napi_get_value_double(env, v, &d));
  if (!(d >= min && d <= max) || d != (double)(uint32_t)d) {
    snprintf(msg, sizeof msg, "%s must be an integer in [%u, %u]", what, min, max);
    throw_range(env, msg);
    return -1;
  }
  *out = (uint32_t)d;
  return 0;
}

static int get_bool(napi_env env, napi_value v, const char *what, int *out) {
  if (!is_type(env, v, napi_boolean)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a boolean", what);
    throw_type(env, msg);
    return -1;
  }
  bool b;
  NAPI_CALL_INT(env, napi_get_value_bool(env, v, &b));
  *out = b;
  return 0;
}

static int get_function(napi_env env, napi_value v, const char *what) {
  if (!is_type(env, v, napi_function)) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be a function", what);
    throw_type(env, msg);
    return -1;
  }
  return 0;
}

static int get_arraybuffer(napi_env env, napi_value v, const char *what, uint8_t **data, size_t *len) {
  bool is_ab = false;
  NAPI_CALL_INT(env, napi_is_arraybuffer(env, v, &is_ab));
  if (!is_ab) {
    char msg[96];
    snprintf(msg, sizeof msg, "%s must be an ArrayBuffer", what);
    throw_type(env, msg);
    return -1;
  }
  void *p = NULL;
  NAPI_CALL_INT(env, napi_get_arraybuffer_info(env, v, &p, len));
  *data = p;
  return 0;
}

static int get_typed(napi_env env, napi_value v, const char *what, napi_typedarray_type want, size_t min_len,
                     void **data, size_t *len) {
  char msg[128];
  bool is_ta = false;
  NAPI_CALL_INT(env, napi_is_typedarray(env, v, &is_ta));
  napi_typedarray_type type = napi_int8_array;
  if (is_ta) NAPI_CALL_INT(env, napi_get_typedarray_info(env, v, &type, len, data, NULL, NULL));
  if (!is_ta || type != want) {
    snprintf(msg, sizeof msg, "%s must be a %s", what, want == napi_uint32_array ? "Uint32Array" : "Float64Array");
    throw_type(env, msg);
    return -1;
  }
  if (*len < min_len) {
    snprintf(msg, sizeof msg, "%s must have at least %zu elements, got %zu", what, min_len, *len);
    throw_range(env, msg);
    return -1;
  }
  return 0;
}

/* The TAP handle in `v`; `need_open` refuses a closed one with EBADF. */
static int get_tap(napi_env env, napi_value v, int need_open, const char *syscall, struct chn_tap **out) {
  bool tagged = false;
  if (is_type(env, v, napi_external)) NAPI_CALL_INT(env, napi_check_object_type_tag(env, v, &CHN_TAP_TAG, &tagged));
  if (!tagged) {
    throw_type(env, "handle must be a TAP handle returned by open()");
    return -1;
  }
  void *p = NULL;
  NAPI_CALL_INT(env, napi_get_value_external(env, v, &p));
  struct chn_tap *tap = p;
  if (need_open && tap->shut) {
    throw_system_error(env, EBADF, syscall, tap->name);
    return -1;
  }
  *out = tap;
  return 0;
}

/* ---- lifecycle ---------------------------------------------------------------------------- */

void chn_raise_napi_failure(napi_env env, napi_status status, const char *call) {
  throw_napi_failure(env, status, call);
  napi_value exc;
  if (napi_get_and_clear_last_exception(env, &exc) == napi_ok && exc != NULL) {
    /* If even this fails, nothing is left that could report it. */
    (void)napi_fatal_exception(env, exc);
  }
}

const char *chn_tap_shutdown(struct chn_tap *tap) {
  if (tap->shut) return NULL;
  const char *failed = NULL;
  tap->shut = 1;
  chn_poll_close(tap);
  tap_close(tap->fd);
  tap->fd = -1;
  for (int i = 0; i < CHN_REF_COUNT; i++) {
    if (tap->refs[i] != NULL) {
      if (napi_delete_reference(tap->env, tap->refs[i]) != napi_ok && failed == NULL) failed = "napi_delete_reference";
      tap->refs[i] = NULL;
    }
  }
  if (tap->async_ctx != NULL) {
    if (napi_async_destroy(tap->env, tap->async_ctx) != napi_ok && failed == NULL) failed = "napi_async_destroy";
    tap->async_ctx = NULL;
  }
  tap->rx_arena = tap->tx_arena = NULL;
  tap->rx_lens = tap->tx_offs = tap->tx_lens = NULL;
  tap->status = NULL;
  return failed;
}

void chn_tap_maybe_free(struct chn_tap *tap) {
  if (tap->finalized && !tap->poll_inited) free(tap);
}

/*
 * The External was garbage-collected: release whatever close() has not. A finalizer has no JS
 * caller, so a failed release can only leave a leak behind (there is nobody to tell).
 */
static void finalize_tap(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  struct chn_tap *tap = data;
  (void)chn_tap_shutdown(tap);
  tap->finalized = 1;
  chn_tap_maybe_free(tap);
}

/* Node is tearing the environment down (exit, worker end): close the watcher so it does not outlive the loop. */
static void on_env_teardown(napi_async_cleanup_hook_handle handle, void *arg) {
  struct chn_tap *tap = arg;
  tap->cleanup_hook = handle;
  /* The environment is going away: a failed release can only leave a leak behind. */
  (void)chn_tap_shutdown(tap);
  if (!tap->poll_inited) {
    /* Fails only for a NULL handle; Node hands us a valid one. */
    (void)napi_remove_async_cleanup_hook(handle);
    tap->cleanup_hook = NULL;
  }
}

/* ---- exports ------------------------------------------------------------------------------ */

/* open(name, vnetHdrLen 0|10|12, offloads TUN_F_* bits, multiQueue) -> handle */
static napi_value js_open(napi_env env, napi_callback_info info) {
  napi_value argv[4];
  char name[IFNAMSIZ];
  uint32_t hdr, offloads;
  int mq;
  if (get_args(env, info, 4, argv) < 0 || get_name(env, argv[0], "name", name) < 0 ||
      get_u32(env, argv[1], "vnetHdrLen", 0, 12, &hdr) < 0 ||
      get_u32(env, argv[2], "offloads", 0, TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 | TUN_F_TSO_ECN | TUN_F_UFO, &offloads) < 0 ||
      get_bool(env, argv[3], "multiQueue", &mq) < 0) {
    return NULL;
  }
  if (hdr != 0 && hdr != 10 && hdr != 12) return throw_range(env, "vnetHdrLen must be 0, 10 or 12");

  struct tap_open_opts o = {.name = name, .vnet_hdr_len = (int)hdr, .offloads = offloads, .multi_queue = mq};
  int fd = -1;
  char actual[IFNAMSIZ];
  const char *call = "open(/dev/net/tun)";
  int rc = tap_open(&o, &fd, actual, &call);
  if (rc < 0) {
    throw_system_error(env, -rc, call, name);
    return NULL;
  }
  struct chn_tap *tap = calloc(1, sizeof *tap);
  if (tap == NULL) {
    tap_close(fd);
    throw_system_error(env, ENOMEM, "calloc", name);
    return NULL;
  }
  tap->env = env;
  tap->fd = fd;
  memcpy(tap->name, actual, IFNAMSIZ);

  napi_value ext;
  napi_status st = napi_create_external(env, tap, finalize_tap, NULL, &ext);
  if (st != napi_ok) {
    tap_close(fd);
    free(tap);
    throw_napi_failure(env, st, "napi_create_external");
    return NULL;
  }
  /* From here the finalizer owns the struct and the fd. */
  NAPI_CALL(env, napi_type_tag_object(env, ext, &CHN_TAP_TAG));
  return ext;
}

/*
 * start(handle, rxArena, rxSlotSize, rxSlots, rxLens, txArena, txOffs, txLens, status, onRead, onWritable)
 * Hands the JS-owned memory to C once and starts the watcher.
 */
static napi_value js_start(napi_env env, napi_callback_info info) {
  napi_value argv[11];
  struct chn_tap *tap;
  if (get_args(env, info, 11, argv) < 0 || get_tap(env, argv[0], 1, "uv_poll_start", &tap) < 0) return NULL;
  if (tap->start_called) {
    napi_throw_error(env, "ERR_INVALID_STATE", "start() was already called on this TAP handle");
    return NULL;
  }
  uint8_t *rx, *tx;
  size_t rx_len, tx_len, n_rx_lens, n_offs, n_lens, n_status;
  uint32_t slot, slots;
  void *rx_lens, *tx_offs, *tx_lens, *status;
  if (get_arraybuffer(env, argv[1], "rxArena", &rx, &rx_len) < 0 ||
      get_u32(env, argv[2], "rxSlotSize", CHN_MIN_SLOT, 1u << 24, &slot) < 0 ||
      get_u32(env, argv[3], "rxSlots", 1, 4096, &slots) < 0) {
    return NULL;
  }
  if ((size_t)slot * slots > rx_len) return throw_range(env, "rxArena is smaller than rxSlotSize * rxSlots");
  if (get_typed(env, argv[4], "rxLens", napi_uint32_array, slots, &rx_lens, &n_rx_lens) < 0 ||
      get_arraybuffer(env, argv[5], "txArena", &tx, &tx_len) < 0 ||
      get_typed(env, argv[6], "txOffs", napi_uint32_array, 1, &tx_offs, &n_offs) < 0 ||
      get_typed(env, argv[7], "txLens", napi_uint32_array, n_offs, &tx_lens, &n_lens) < 0 ||
      get_typed(env, argv[8], "status", napi_float64_array, CHN_ST_LEN, &status, &n_status) < 0 ||
      get_function(env, argv[9], "onRead") < 0 || get_function(env, argv[10], "onWritable") < 0) {
    return NULL;
  }

  /* One attempt only: a failure below leaves the handle unusable (close it), never half-started twice. */
  tap->start_called = 1;
  static const int ref_arg[] = {
      [CHN_REF_RX_ARENA] = 1, [CHN_REF_RX_LENS] = 4, [CHN_REF_TX_ARENA] = 5, [CHN_REF_TX_OFFS] = 6,
      [CHN_REF_TX_LENS] = 7,  [CHN_REF_STATUS] = 8,  [CHN_REF_ON_READ] = 9,  [CHN_REF_ON_WRITABLE] = 10,
  };
  for (int i = 0; i < CHN_REF_RESOURCE; i++) NAPI_CALL(env, napi_create_reference(env, argv[ref_arg[i]], 1, &tap->refs[i]));
  napi_value resource, resource_name;
  NAPI_CALL(env, napi_create_object(env, &resource));
  NAPI_CALL(env, napi_create_reference(env, resource, 1, &tap->refs[CHN_REF_RESOURCE]));
  NAPI_CALL(env, napi_create_string_utf8(env, "ChimneyTap", NAPI_AUTO_LENGTH, &resource_name));
  NAPI_CALL(env, napi_async_init(env, resource, resource_name, &tap->async_ctx));

  tap->rx_arena = rx;
  tap->rx_slot_size = slot;
  tap->rx_slots = slots;
  tap->rx_lens = rx_lens;
  tap->tx_arena = tx;
  tap->tx_arena_len = tx_len;
  tap->tx_offs = tx_offs;
  tap->tx_lens = tx_lens;
  tap->tx_entries = (uint32_t)(n_offs < UINT32_MAX ? n_offs : UINT32_MAX);
  tap->status = status;

  int rc = chn_poll_start(tap);
  if (rc < 0) {
    throw_system_error(env, -rc, "uv_poll_start", tap->name);
    return NULL;
  }
  NAPI_CALL(env, napi_add_async_cleanup_hook(env, on_env_teardown, tap, &tap->cleanup_hook));
  tap->started = 1;
  return NULL;
}

/* write(handle, first, count) -> frames consumed; details in status[TX_*]. */
static napi_value js_write(napi_env env, napi_callback_info info) {
  napi_value argv[3];
  struct chn_tap *tap;
  uint32_t first, count;
  if (get_args(env, info, 3, argv) < 0 || get_tap(env, argv[0], 1, "write", &tap) < 0 ||
      get_u32(env, argv[1], "first", 0, UINT32_MAX, &first) < 0 ||
      get_u32(env, argv[2], "count", 0, UINT32_MAX, &count) < 0) {
    return NULL;
  }
  if (!tap->started) {
    napi_throw_error(env, "ERR_INVALID_STATE", "write() before start()");
    return NULL;
  }
  if (first > tap->tx_entries || count > tap->tx_entries - first) return throw_range(env, "first + count exceeds txOffs.length");
  struct tap_batch_result r;
  uint32_t done = tap_write_batch(tap->fd, tap->tx_arena, tap->tx_arena_len, tap->tx_offs, tap->tx_lens, first, count, &r);
  double *st = tap->status;
  st[CHN_ST_TX_ERRORS] = r.errors;
  st[CHN_ST_TX_LAST_ERRNO] = r.last_errno;
  st[CHN_ST_TX_FATAL_ERRNO] = r.fatal_errno;
  st[CHN_ST_TX_BYTES] = (double)r.bytes;
  st[CHN_ST_TX_WOULD_BLOCK] = r.would_block;
  napi_value out;
  NAPI_CALL(env, napi_create_uint32(env, done, &out));
  return out;
}

/* setWritable(handle, on): writable interest while JS holds a backlog. */
static napi_value js_set_writable(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  struct chn_tap *tap;
  int on;
  if (get_args(env, info, 2, argv) < 0 || get_tap(env, argv[0], 1, "uv_poll_start", &tap) < 0 ||
      get_bool(env, argv[1], "on", &on) < 0) {
    return NULL;
  }
  if (!tap->started) {
    napi_throw_error(env, "ERR_INVALID_STATE", "setWritable() before start()");
    return NULL;
  }
  if (tap->want_writable == on) return NULL;
  tap->want_writable = on;
  int rc = chn_poll_update(tap);
  if (rc < 0) throw_system_error(env, -rc, "uv_poll_start", tap->name);
  return NULL;
}

/* close(handle): stops the watcher, closes the fd, drops the references. Idempotent. */
static napi_value js_close(napi_env env, napi_callback_info info) {
  napi_value argv[1];
  struct chn_tap *tap;
  if (get_args(env, info, 1, argv) < 0 || get_tap(env, argv[0], 0, "close", &tap) < 0) return NULL;
  const char *failed = chn_tap_shutdown(tap);
  if (failed != NULL) throw_napi_failure(env, napi_generic_failure, failed);
  return NULL;
}

static napi_value js_name(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  struct chn_tap *tap;
  if (get_args(env, info, 1, argv) < 0 || get_tap(env, argv[0], 0, "name", &tap) < 0) return NULL;
  NAPI_CALL(env, napi_create_string_utf8(env, tap->name, NAPI_AUTO_LENGTH, &out));
  return out;
}

/* hwAddr(handle) -> Uint8Array(6): the kernel side's MAC, via SIOCGIFHWADDR on the TAP fd. */
static napi_value js_hw_addr(napi_env env, napi_callback_info info) {
  napi_value argv[1], ab, out;
  struct chn_tap *tap;
  if (get_args(env, info, 1, argv) < 0 || get_tap(env, argv[0], 1, "ioctl(SIOCGIFHWADDR)", &tap) < 0) return NULL;
  uint8_t mac[6];
  const char *call = "ioctl(SIOCGIFHWADDR)";
  int rc = tap_get_hwaddr(tap->fd, mac, &call);
  if (rc < 0) {
    throw_system_error(env, -rc, call, tap->name);
    return NULL;
  }
  void *data = NULL;
  NAPI_CALL(env, napi_create_arraybuffer(env, 6, &data, &ab));
  memcpy(data, mac, 6);
  NAPI_CALL(env, napi_create_typedarray(env, napi_uint8_array, 6, ab, 0, &out));
  return out;
}

/* inOwnNetns(handle) -> boolean: is the device still in this process's network namespace? */
static napi_value js_in_own_netns(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  struct chn_tap *tap;
  if (get_args(env, info, 1, argv) < 0 || get_tap(env, argv[0], 1, "ioctl(TUNGETDEVNETNS)", &tap) < 0) return NULL;
  const char *call = "ioctl(TUNGETDEVNETNS)";
  int rc = tap_in_own_netns(tap->fd, &call);
  if (rc < 0) {
    throw_system_error(env, -rc, call, tap->name);
    return NULL;
  }
  NAPI_CALL(env, napi_get_boolean(env, rc == 1, &out));
  return out;
}

/* ifIndex(name) -> index in this namespace, 0 when there is no such device. */
static napi_value js_if_index(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  char name[IFNAMSIZ];
  if (get_args(env, info, 1, argv) < 0 || get_name(env, argv[0], "name", name) < 0) return NULL;
  NAPI_CALL(env, napi_create_uint32(env, name[0] ? tap_if_index(name) : 0, &out));
  return out;
}

static napi_value js_get_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  char name[IFNAMSIZ];
  if (get_args(env, info, 1, argv) < 0 || get_name(env, argv[0], "name", name) < 0) return NULL;
  int mtu = 0;
  const char *call = "ioctl(SIOCGIFMTU)";
  int rc = tap_get_mtu(name, &mtu, &call);
  if (rc < 0) {
    throw_system_error(env, -rc, call, name);
    return NULL;
  }
  NAPI_CALL(env, napi_create_int32(env, mtu, &out));
  return out;
}

static napi_value js_set_mtu(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[IFNAMSIZ];
  uint32_t mtu;
  if (get_args(env, info, 2, argv) < 0 || get_name(env, argv[0], "name", name) < 0 ||
      get_u32(env, argv[1], "mtu", 68, 65535, &mtu) < 0) {
    return NULL;
  }
  const char *call = "ioctl(SIOCSIFMTU)";
  int rc = tap_set_mtu(name, (int)mtu, &call);
  if (rc < 0) throw_system_error(env, -rc, call, name);
  return NULL;
}

static napi_value js_is_up(napi_env env, napi_callback_info info) {
  napi_value argv[1], out;
  char name[IFNAMSIZ];
  if (get_args(env, info, 1, argv) < 0 || get_name(env, argv[0], "name", name) < 0) return NULL;
  int up = 0;
  const char *call = "ioctl(SIOCGIFFLAGS)";
  int rc = tap_get_up(name, &up, &call);
  if (rc < 0) {
    throw_system_error(env, -rc, call, name);
    return NULL;
  }
  NAPI_CALL(env, napi_get_boolean(env, up, &out));
  return out;
}

static napi_value js_set_up(napi_env env, napi_callback_info info) {
  napi_value argv[2];
  char name[IFNAMSIZ];
  int up;
  if (get_args(env, info, 2, argv) < 0 || get_name(env, argv[0], "name", name) < 0 || get_bool(env, argv[1], "up", &up) < 0) {
    return NULL;
  }
  const char *call = "ioctl(SIOCSIFFLAGS)";
  int rc = tap_set_up(name, up, &call);
  if (rc < 0) throw_system_error(env, -rc, call, name);
  return NULL;
}

/* systemError(errno > 0, syscall, device) -> Error: the same shape as the errors thrown here. */
static napi_value js_system_error(napi_env env, napi_callback_info info) {
  napi_value argv[3], out;
  uint32_t errnum;
  char syscall[64], device[IFNAMSIZ];
  size_t len;
  if (get_args(env, info, 3, argv) < 0 || get_u32(env, argv[0], "errno", 1, 4095, &errnum) < 0) return NULL;
  if (!is_type(env, argv[1], napi_string)) return throw_type(env, "syscall must be a string");
  NAPI_CALL(env, napi_get_value_string_utf8(env, argv[1], syscall, sizeof syscall, &len));
  if (get_name(env, argv[2], "device", device) < 0) return NULL;
  if (make_system_error(env, (int)errnum, syscall, device, &out) < 0) return NULL;
  return out;
}

static int set_u32(napi_env env, napi_value obj, const char *key, uint32_t value) {
  napi_value v;
  NAPI_CALL_INT(env, napi_create_uint32(env, value, &v));
  NAPI_CALL_INT(env, napi_set_named_property(env, obj, key, v));
  return 0;
}

static napi_value init(napi_env env, napi_value exports) {
  const napi_property_descriptor fns[] = {
      {"open", NULL, js_open, NULL, NULL, NULL, napi_enumerable, NULL},
      {"start", NULL, js_start, NULL, NULL, NULL, napi_enumerable, NULL},
      {"write", NULL, js_write, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setWritable", NULL, js_set_writable, NULL, NULL, NULL, napi_enumerable, NULL},
      {"close", NULL, js_close, NULL, NULL, NULL, napi_enumerable, NULL},
      {"name", NULL, js_name, NULL, NULL, NULL, napi_enumerable, NULL},
      {"hwAddr", NULL, js_hw_addr, NULL, NULL, NULL, napi_enumerable, NULL},
      {"inOwnNetns", NULL, js_in_own_netns, NULL, NULL, NULL, napi_enumerable, NULL},
      {"ifIndex", NULL, js_if_index, NULL, NULL, NULL, napi_enumerable, NULL},
      {"getMtu", NULL, js_get_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setMtu", NULL, js_set_mtu, NULL, NULL, NULL, napi_enumerable, NULL},
      {"isUp", NULL, js_is_up, NULL, NULL, NULL, napi_enumerable, NULL},
      {"setUp", NULL, js_set_up, NULL, NULL, NULL, napi_enumerable, NULL},
      {"systemError", NULL, js_system_error, NULL, NULL, NULL, napi_enumerable, NULL},
  };
  NAPI_CALL(env, napi_define_properties(env, exports, sizeof fns / sizeof fns[0], fns));

  napi_value c;
  NAPI_CALL(env, napi_create_object(env, &c));
  if (set_u32(env, c, "TUN_F_CSUM", TUN_F_CSUM) < 0 || set_u32(env, c, "TUN_F_TSO4", TUN_F_TSO4) < 0 ||
      set_u32(env, c, "TUN_F_TSO6", TUN_F_TSO6) < 0 || set_u32(env, c, "IFNAMSIZ", IFNAMSIZ) < 0 ||
      set_u32(env, c, "MIN_RX_SLOT", CHN_MIN_SLOT) < 0 ||
      set_u32(env, c, "ST_RX_ERRORS", CHN_ST_RX_ERRORS) < 0 || set_u32(env, c, "ST_RX_LAST_ERRNO", CHN_ST_RX_LAST_ERRNO) < 0 ||
      set_u32(env, c, "ST_RX_FATAL_ERRNO", CHN_ST_RX_FATAL_ERRNO) < 0 || set_u32(env, c, "ST_RX_BYTES", CHN_ST_RX_BYTES) < 0 ||
      set_u32(env, c, "ST_TX_ERRORS", CHN_ST_TX_ERRORS) < 0 || set_u32(env, c, "ST_TX_LAST_ERRNO", CHN_ST_TX_LAST_ERRNO) < 0 ||
      set_u32(env, c, "ST_TX_FATAL_ERRNO", CHN_ST_TX_FATAL_ERRNO) < 0 || set_u32(env, c, "ST_TX_BYTES", CHN_ST_TX_BYTES) < 0 ||
      set_u32(env, c, "ST_TX_WOULD_BLOCK", CHN_ST_TX_WOULD_BLOCK) < 0 || set_u32(env, c, "ST_LEN", CHN_ST_LEN) < 0) {
    return NULL;
  }
  NAPI_CALL(env, napi_object_freeze(env, c));
  NAPI_CALL(env, napi_set_named_property(env, exports, "constants", c));
  return exports;
}

NAPI_MODULE(NODE_GYP_MODULE_NAME, init)
