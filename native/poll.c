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

/* Hands a pending JS exception to Node's uncaughtException machinery: there is no JS caller here. */
static void raise_pending(napi_env env) {
  bool pending = false;
  if (napi_is_exception_pending(env, &pending) != napi_ok || !pending) return;
  napi_value exc;
  if (napi_get_and_clear_last_exception(env, &exc) == napi_ok) napi_fatal_exception(env, exc);
}

/* Calls the JS function held in refs[which] with the given arguments. */
static void call_js(struct chn_tap *tap, enum chn_ref which, size_t argc, const napi_value *argv) {
  napi_env env = tap->env;
  napi_value fn, recv, result;
  if (napi_get_reference_value(env, tap->refs[which], &fn) != napi_ok || fn == NULL ||
      napi_get_reference_value(env, tap->refs[CHN_REF_RESOURCE], &recv) != napi_ok || recv == NULL) {
    raise_pending(env);
    return;
  }
  if (napi_make_callback(env, tap->async_ctx, recv, fn, argc, argv, &result) != napi_ok) raise_pending(env);
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

  napi_handle_scope scope;
  if (napi_open_handle_scope(tap->env, &scope) != napi_ok) return;
  napi_value count;
  if (napi_create_uint32(tap->env, n, &count) == napi_ok) {
    call_js(tap, CHN_REF_ON_READ, 1, &count);
  } else {
    raise_pending(tap->env);
  }
  napi_close_handle_scope(tap->env, scope);
}

static void on_writable(struct chn_tap *tap) {
  napi_handle_scope scope;
  if (napi_open_handle_scope(tap->env, &scope) != napi_ok) return;
  call_js(tap, CHN_REF_ON_WRITABLE, 0, NULL);
  napi_close_handle_scope(tap->env, scope);
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
    napi_handle_scope scope;
    if (napi_open_handle_scope(tap->env, &scope) != napi_ok) return;
    napi_value zero;
    if (napi_create_uint32(tap->env, 0, &zero) == napi_ok) call_js(tap, CHN_REF_ON_READ, 1, &zero);
    napi_close_handle_scope(tap->env, scope);
    return;
  }
  if (events & UV_READABLE) on_readable(tap);
  /* The JS callback may have closed the link. */
  if (!tap->shut && (events & UV_WRITABLE) && tap->want_writable) on_writable(tap);
}

static void on_closed(uv_handle_t *handle) {
  struct chn_tap *tap = handle->data;
  tap->poll_inited = 0;
  if (tap->cleanup_hook != NULL) {
    /* Tells Node that this handle no longer keeps env teardown waiting (or unregisters the hook). */
    napi_remove_async_cleanup_hook(tap->cleanup_hook);
    tap->cleanup_hook = NULL;
  }
  chn_tap_maybe_free(tap);
}

int chn_poll_start(struct chn_tap *tap) {
  uv_loop_t *loop;
  if (napi_get_uv_event_loop(tap->env, &loop) != napi_ok) return UV_EINVAL;
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
