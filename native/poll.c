/*
 * The libuv watcher of one TAP fd (uv_poll_t, level-triggered epoll underneath).
 *
 * On readable it drains one bounded batch of frames into the JS-owned receive arena with
 * non-blocking reads and makes exactly one call into JS for the whole batch (never one per
 * frame, never a blocking read on the loop thread, no threadpool). The call goes through
 * napi_make_callback, so the microtask queue runs right after it: that is where the JS side
 * writes out the frames it queued while handling the batch. Frames beyond the bound stay in
 * the kernel queue; the fd is still readable, so the next loop iteration takes the next batch,
 * after other handles (the other TAP of a relay, timers) have had their turn.
 *
 * Writable interest is armed only while JS has frames that a write refused with EAGAIN.
 */
#include "poll.h"

#include <errno.h>
#include <stdlib.h>

#include "tap_linux.h"

/*
 * In a libuv callback there is no JS caller to hand an exception to: a failed napi_* call (or an
 * exception thrown by the JS callback) becomes an uncaughtException, as for any event handler.
 */
#define NAPI_CALL_CB(env, call, on_fail)                  \
  do {                                                   \
    napi_status status_ = (call);                        \
    if (status_ != napi_ok) {                            \
      chn_raise_napi_failure((env), status_, #call);     \
      on_fail;                                           \
    }                                                    \
  } while (0)

/* Calls the JS function held in refs[which] with the given arguments. */
static void call_js(struct chn_tap *tap, enum chn_ref which, size_t argc, const napi_value *argv) {
  napi_env env = tap->env;
  napi_value fn, recv, result;
  NAPI_CALL_CB(env, napi_get_reference_value(env, tap->refs[which], &fn), return);
  NAPI_CALL_CB(env, napi_get_reference_value(env, tap->refs[CHN_REF_RESOURCE], &recv), return);
  if (fn == NULL || recv == NULL) return; /* released by close() during this very callback */
  NAPI_CALL_CB(env, napi_make_callback(env, tap->async_ctx, recv, fn, argc, argv, &result), return);
}

/* Runs `argc` (0 or 1) uint32 arguments through call_js inside a handle scope. */
static void call_js_scoped(struct chn_tap *tap, enum chn_ref which, int with_count, uint32_t count) {
  napi_env env = tap->env;
  napi_handle_scope scope;
  NAPI_CALL_CB(env, napi_open_handle_scope(env, &scope), return);
  napi_value arg;
  int ok = 1;
  if (with_count) NAPI_CALL_CB(env, napi_create_uint32(env, count, &arg), ok = 0);
  if (ok) call_js(tap, which, with_count ? 1 : 0, with_count ? &arg : NULL);
  NAPI_CALL_CB(env, napi_close_handle_scope(env, scope), return);
}

static void on_readable(struct chn_tap *tap) {
  struct tap_batch_result r;
  uint32_t n = tap_read_batch(tap->fd, tap->rx_arena, tap->rx_slot_size, tap->rx_slots, tap->rx_lens, &r);
  if (n == 0 && r.errors == 0 && r.fatal_errno == 0) return; /* spurious wakeup: nothing to say */

  double *st = tap->status;
  st[CHN_ST_RX_ERRORS] = r.errors;
  st[CHN_ST_RX_LAST_ERRNO] = r.last_errno;
  st[CHN_ST_RX_FATAL_ERRNO] = r.fatal_errno;
  st[CHN_ST_RX_BYTES] = (double)r.bytes;
  /* After a fatal error the fd can only fail again: stop watching before telling JS, so a
   * level-triggered readable/error condition cannot spin the loop. */
  if (r.fatal_errno) uv_poll_stop(&tap->poll);
  call_js_scoped(tap, CHN_REF_ON_READ, 1, n);
}

static void on_poll(uv_poll_t *handle, int status, int events) {
  struct chn_tap *tap = handle->data;
  if (tap->shut) return;
  if (status < 0) {
    /* libuv reports the fd's error condition (POLLERR) as a negative errno: hand it to JS as a
     * fatal read error through the normal batch path, with no frames. */
    uv_poll_stop(&tap->poll);
    double *st = tap->status;
    st[CHN_ST_RX_ERRORS] = 0;
    st[CHN_ST_RX_LAST_ERRNO] = 0;
    st[CHN_ST_RX_FATAL_ERRNO] = -status;
    st[CHN_ST_RX_BYTES] = 0;
    call_js_scoped(tap, CHN_REF_ON_READ, 1, 0);
    return;
  }
  if (events & UV_READABLE) on_readable(tap);
  /* The JS callback may have closed the link. */
  if (!tap->shut && (events & UV_WRITABLE) && tap->want_writable) call_js_scoped(tap, CHN_REF_ON_WRITABLE, 0, 0);
}

static void on_closed(uv_handle_t *handle) {
  struct chn_tap *tap = handle->data;
  tap->poll_inited = 0;
  if (tap->cleanup_hook != NULL) {
    /* Tells Node that this handle no longer keeps env teardown waiting (or unregisters the hook).
     * It can only fail for a NULL handle, which the test above excludes. */
    napi_status status = napi_remove_async_cleanup_hook(tap->cleanup_hook);
    tap->cleanup_hook = NULL;
    if (status != napi_ok) chn_raise_napi_failure(tap->env, status, "napi_remove_async_cleanup_hook");
  }
  chn_tap_maybe_free(tap);
}

int chn_poll_start(struct chn_tap *tap) {
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(tap->env, &loop) != napi_ok || loop == NULL) return UV_EINVAL;
  int rc = uv_poll_init(loop, &tap->poll, tap->fd);
  if (rc < 0) return rc;
  tap->poll.data = tap;
  tap->poll_inited = 1;
  return chn_poll_update(tap);
}

int chn_poll_update(struct chn_tap *tap) {
  if (!tap->poll_inited || tap->shut) return UV_EBADF;
  int events = UV_READABLE | (tap->want_writable ? UV_WRITABLE : 0);
  return uv_poll_start(&tap->poll, events, on_poll);
}

void chn_poll_close(struct chn_tap *tap) {
  if (!tap->poll_inited) return;
  uv_poll_stop(&tap->poll);
  if (!uv_is_closing((uv_handle_t *)&tap->poll)) uv_close((uv_handle_t *)&tap->poll, on_closed);
}
