/*
 * Plain POSIX access to a Linux TAP device (Documentation/networking/tuntap.rst).
 *
 * Nothing here knows about Node-API: every function returns 0 (or a count) on success and
 * -errno on failure, and where several system calls are involved it names the one that failed
 * through `*failed_call`, so the glue layer can build a Node system-style error from it.
 */
#ifndef CHIMNEY_TAP_LINUX_H
#define CHIMNEY_TAP_LINUX_H

#include <net/if.h>
#include <stddef.h>
#include <stdint.h>

/* Requested configuration of a TAP queue (one open file of /dev/net/tun). */
struct tap_open_opts {
  /* Device name, at most IFNAMSIZ-1 bytes; "" lets the kernel pick "tap%d". */
  const char *name;
  /* 0: no virtio-net header; 10 or 12: IFF_VNET_HDR with TUNSETVNETHDRSZ of that size. */
  int vnet_hdr_len;
  /* TUN_F_* bits for TUNSETOFFLOAD; only used with a virtio-net header. */
  unsigned offloads;
  /* IFF_MULTI_QUEUE: this open attaches one more queue to a multi-queue device. */
  int multi_queue;
};

/*
 * Opens /dev/net/tun (O_RDWR | O_NONBLOCK | O_CLOEXEC) and attaches it to the TAP `o->name`
 * with IFF_TAP | IFF_NO_PI, creating the device when it does not exist (TUNSETIFF creates a
 * non-persistent device that disappears with its last file). On success stores the fd and the
 * device name the kernel settled on (NUL-terminated) and returns 0.
 */
int tap_open(const struct tap_open_opts *o, int *fd_out, char name_out[IFNAMSIZ], const char **failed_call);

/* Closes the fd; returns 0 or -errno (close(2) errors other than EINTR are reported). */
int tap_close(int fd);

/* if_nametoindex(3) in the caller's network namespace: the index, 0 when there is no such device. */
unsigned tap_if_index(const char *name);

/*
 * The kernel side's MAC address, read through the TAP fd (SIOCGIFHWADDR on a tun fd looks the
 * device up by name in the namespace the fd was opened in, so call it before the device moves).
 */
int tap_get_hwaddr(int fd, uint8_t mac[6], const char **failed_call);

/* Name-based interface ioctls on an AF_INET datagram socket in the caller's namespace. */
int tap_get_mtu(const char *name, int *mtu, const char **failed_call);
int tap_set_mtu(const char *name, int mtu, const char **failed_call);
int tap_get_up(const char *name, int *up, const char **failed_call);
int tap_set_up(const char *name, int up, const char **failed_call);

/*
 * 1 when the device of this TAP fd lives in the caller's network namespace, 0 when it has been
 * moved elsewhere (TUNGETDEVNETNS, Linux >= 5.2, compared by namespace inode), -errno otherwise.
 */
int tap_in_own_netns(int fd, const char **failed_call);

/* Outcome of one batched read or write beyond the frame count. */
struct tap_batch_result {
  /* Frames that failed with a per-frame error (dropped and skipped). */
  uint32_t errors;
  /* errno of the last per-frame error, 0 when none. */
  int last_errno;
  /* errno of an error that ends the device's usefulness (EBADFD after the device was deleted, ...), 0 when none. */
  int fatal_errno;
  /* The batch stopped because the fd would block (EAGAIN), not because it reached its bound. */
  int would_block;
  /* Bytes moved by the frames that succeeded. */
  uint64_t bytes;
};

/*
 * Reads up to `max` frames, one per read(2), into consecutive slots of `slot_size` bytes in
 * `arena`, storing each frame's length in lens[i]. Stops at EAGAIN, at `max`, or at a fatal
 * error. A frame that fails with a per-frame error (EFAULT/EINVAL/EMSGSIZE: it did not fit) is
 * consumed by the kernel, counted in r->errors and does not occupy a slot.
 * Returns the number of frames stored.
 */
uint32_t tap_read_batch(int fd, uint8_t *arena, size_t slot_size, uint32_t max, uint32_t *lens,
                        struct tap_batch_result *r);

/*
 * Writes frames[first .. first+count) where frame i is arena[offs[i] .. offs[i]+lens[i]), one
 * write(2) each. Stops at EAGAIN (r->would_block) or a fatal error; a frame refused with a
 * per-frame error (EINVAL for a malformed virtio-net header, EIO while the device is down, ...)
 * is counted in r->errors and skipped. Returns the number of frames consumed (written or
 * refused); the caller keeps the rest queued.
 */
uint32_t tap_write_batch(int fd, const uint8_t *arena, size_t arena_len, const uint32_t *offs,
                         const uint32_t *lens, uint32_t first, uint32_t count, struct tap_batch_result *r);

#endif
