/*
 * Internal header shared by tap.c (Node-API glue) and poll.c (the libuv watcher): the state
 * behind one TAP handle and the few glue helpers both need.
 */
#ifndef CHIMNEY_POLL_H
#define CHIMNEY_POLL_H

#include <net/if.h>
#include <node_api.h>
#include <stdint.h>
#include <uv.h>

/*
 * Slots of the Float64Array the JS side hands in as `status`: the outcome of the last batched
 * read (filled before each onRead call) and of the last batched write (filled before `write`
 * returns). Exported to JS as constants, so both sides agree on one layout.
 */
enum chn_status_slot {
  CHN_ST_RX_ERRORS = 0,
  CHN_ST_RX_LAST_ERRNO,
  CHN_ST_RX_FATAL_ERRNO,
  CHN_ST_RX_BYTES,
  CHN_ST_TX_ERRORS,
  CHN_ST_TX_LAST_ERRNO,
  CHN_ST_TX_FATAL_ERRNO,
  CHN_ST_TX_BYTES,
  CHN_ST_TX_WOULD_BLOCK,
  CHN_ST_LEN
};

enum chn_ref {
  CHN_REF_RX_ARENA = 0,
  CHN_REF_RX_LENS,
  CHN_REF_TX_ARENA,
  CHN_REF_TX_OFFS,
  CHN_REF_TX_LENS,
  CHN_REF_STATUS,
  CHN_REF_ON_READ,
  CHN_REF_ON_WRITABLE,
  CHN_REF_RESOURCE,
  CHN_REF_COUNT
};

/* One open TAP queue: its fd, its watcher and the JS-owned memory it reads into and writes from. */
struct chn_tap {
  napi_env env;
  int fd;
  char name[IFNAMSIZ];

  /* Lifecycle: `shut` once close() (or a finalizer, or env teardown) has released the fd;
   * the struct itself is freed when both the External is finalized and the poll handle closed. */
  int shut;
  int finalized;
  int poll_inited;   /* uv_poll_init succeeded and the close callback has not run yet */
  int start_called;  /* start() was attempted (it is never attempted twice) */
  int started;       /* start() succeeded: arenas, callbacks and watcher are all set */
  int want_writable;
  napi_async_cleanup_hook_handle cleanup_hook;
  napi_async_context async_ctx;
  uv_poll_t poll;

  /* Receive arena: rx_slots slots of rx_slot_size bytes, lengths into rx_lens[]. */
  uint8_t *rx_arena;
  size_t rx_slot_size;
  uint32_t rx_slots;
  uint32_t *rx_lens;

  /* Transmit arena: frame i is tx_arena[tx_offs[i] .. + tx_lens[i]), i < tx_entries. */
  uint8_t *tx_arena;
  size_t tx_arena_len;
  uint32_t *tx_offs;
  uint32_t *tx_lens;
  uint32_t tx_entries;

  double *status;
  napi_ref refs[CHN_REF_COUNT];
};

/* Starts watching tap->fd for readability (poll.c). Returns 0 or a negative libuv error. */
int chn_poll_start(struct chn_tap *tap);
/* Re-arms the watcher with or without writable interest. Returns 0 or a negative libuv error. */
int chn_poll_update(struct chn_tap *tap);
/* Stops watching and closes the poll handle; the struct may be freed from the close callback. */
void chn_poll_close(struct chn_tap *tap);

/*
 * Releases the fd, the watcher and every JS reference; safe to call more than once (tap.c).
 * Returns NULL, or the first napi_* call that failed (the caller decides whether it can throw).
 */
const char *chn_tap_shutdown(struct chn_tap *tap);
/* Turns a failed napi_* call outside any JS frame into an uncaughtException (tap.c). */
void chn_raise_napi_failure(napi_env env, napi_status status, const char *call);
/* Frees the struct once nothing refers to it any more (tap.c). */
void chn_tap_maybe_free(struct chn_tap *tap);

#endif
