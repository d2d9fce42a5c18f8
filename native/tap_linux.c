/*
 * Plain POSIX access to a Linux TAP device. See tap_linux.h for the contract: -errno returns,
 * no Node-API, no printing, no aborting.
 *
 * References: Documentation/networking/tuntap.rst (TUNSETIFF, IFF_NO_PI, IFF_VNET_HDR,
 * IFF_MULTI_QUEUE), include/uapi/linux/if_tun.h (TUNSETVNETHDRSZ, TUNSETOFFLOAD,
 * TUNGETDEVNETNS), netdevice(7) (SIOCGIFHWADDR, SIOCGIFMTU/SIOCSIFMTU, SIOCGIFFLAGS/SIOCSIFFLAGS).
 */
#include "tap_linux.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/if_tun.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define FAIL(call) \
  do {                               \
    if (failed_call) *failed_call = (call); \
  } while (0)

static int copy_name(struct ifreq *ifr, const char *name) {
  size_t n = strlen(name);
  if (n >= IFNAMSIZ) return -ENAMETOOLONG;
  memset(ifr, 0, sizeof *ifr);
  memcpy(ifr->ifr_name, name, n);
  return 0;
}

int tap_open(const struct tap_open_opts *o, int *fd_out, char name_out[IFNAMSIZ], const char **failed_call) {
  struct ifreq ifr;
  int rc = copy_name(&ifr, o->name);
  if (rc < 0) {
    FAIL("open(/dev/net/tun)");
    return rc;
  }
  if (o->vnet_hdr_len != 0 && o->vnet_hdr_len != 10 && o->vnet_hdr_len != 12) {
    FAIL("ioctl(TUNSETVNETHDRSZ)");
    return -EINVAL;
  }

  int fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
  if (fd < 0) {
    FAIL("open(/dev/net/tun)");
    return -errno;
  }

  ifr.ifr_flags = IFF_TAP | IFF_NO_PI;
  if (o->vnet_hdr_len) ifr.ifr_flags |= IFF_VNET_HDR;
  if (o->multi_queue) ifr.ifr_flags |= IFF_MULTI_QUEUE;
  if (ioctl(fd, TUNSETIFF, &ifr) < 0) {
    FAIL("ioctl(TUNSETIFF)");
    goto fail;
  }

  if (o->vnet_hdr_len) {
    int hdr = o->vnet_hdr_len;
    if (ioctl(fd, TUNSETVNETHDRSZ, &hdr) < 0) {
      FAIL("ioctl(TUNSETVNETHDRSZ)");
      goto fail;
    }
  }
  /*
   * Always set the offloads, also to 0: a persistent device may still carry the offloads of a
   * previous user, and without a virtio-net header the kernel must not hand us GSO frames or
   * frames with a partial checksum.
   */
  unsigned long offloads = o->vnet_hdr_len ? o->offloads : 0;
  if (ioctl(fd, TUNSETOFFLOAD, offloads) < 0) {
    FAIL("ioctl(TUNSETOFFLOAD)");
    goto fail;
  }

  memcpy(name_out, ifr.ifr_name, IFNAMSIZ);
  name_out[IFNAMSIZ - 1] = '\0';
  *fd_out = fd;
  return 0;

fail:
  rc = -errno;
  close(fd);
  return rc;
}

int tap_close(int fd) {
  if (close(fd) < 0 && errno != EINTR) return -errno;
  return 0;
}

unsigned tap_if_index(const char *name) {
  if (strlen(name) >= IFNAMSIZ) return 0;
  return if_nametoindex(name);
}

int tap_get_hwaddr(int fd, uint8_t mac[6], const char **failed_call) {
  struct ifreq ifr;
  memset(&ifr, 0, sizeof ifr);
  if (ioctl(fd, TUNGETIFF, &ifr) < 0) {
    FAIL("ioctl(TUNGETIFF)");
    return -errno;
  }
  if (ioctl(fd, SIOCGIFHWADDR, &ifr) < 0) {
    FAIL("ioctl(SIOCGIFHWADDR)");
    return -errno;
  }
  memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
  return 0;
}

/* Puts the device name into `ifr`, refusing names the kernel could never have. */
static int if_prep(const char *name, struct ifreq *ifr, const char *call, const char **failed_call) {
  int rc = copy_name(ifr, name);
  if (rc < 0) {
    FAIL(call);
    return rc;
  }
  return 0;
}

/* Runs one name-based SIOC* ioctl on a throwaway AF_INET socket (netdevice(7)). */
static int sock_ioctl(unsigned long req, struct ifreq *ifr, const char *call, const char **failed_call) {
  int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (s < 0) {
    FAIL("socket(AF_INET)");
    return -errno;
  }
  int rc = 0;
  if (ioctl(s, req, ifr) < 0) {
    rc = -errno;
    FAIL(call);
  }
  close(s);
  return rc;
}

int tap_get_mtu(const char *name, int *mtu, const char **failed_call) {
  struct ifreq ifr;
  int rc = if_prep(name, &ifr, "ioctl(SIOCGIFMTU)", failed_call);
  if (rc == 0) rc = sock_ioctl(SIOCGIFMTU, &ifr, "ioctl(SIOCGIFMTU)", failed_call);
  if (rc == 0) *mtu = ifr.ifr_mtu;
  return rc;
}

int tap_set_mtu(const char *name, int mtu, const char **failed_call) {
  struct ifreq ifr;
  int rc = if_prep(name, &ifr, "ioctl(SIOCSIFMTU)", failed_call);
  if (rc < 0) return rc;
  ifr.ifr_mtu = mtu;
  return sock_ioctl(SIOCSIFMTU, &ifr, "ioctl(SIOCSIFMTU)", failed_call);
}

int tap_get_up(const char *name, int *up, const char **failed_call) {
  struct ifreq ifr;
  int rc = if_prep(name, &ifr, "ioctl(SIOCGIFFLAGS)", failed_call);
  if (rc == 0) rc = sock_ioctl(SIOCGIFFLAGS, &ifr, "ioctl(SIOCGIFFLAGS)", failed_call);
  if (rc == 0) *up = (ifr.ifr_flags & IFF_UP) != 0;
  return rc;
}

int tap_set_up(const char *name, int up, const char **failed_call) {
  struct ifreq ifr;
  int rc = if_prep(name, &ifr, "ioctl(SIOCGIFFLAGS)", failed_call);
  if (rc == 0) rc = sock_ioctl(SIOCGIFFLAGS, &ifr, "ioctl(SIOCGIFFLAGS)", failed_call);
  if (rc < 0) return rc;
  short want = up ? (short)(ifr.ifr_flags | IFF_UP) : (short)(ifr.ifr_flags & ~IFF_UP);
  if (want == ifr.ifr_flags) return 0;
  ifr.ifr_flags = want;
  return sock_ioctl(SIOCSIFFLAGS, &ifr, "ioctl(SIOCSIFFLAGS)", failed_call);
}

int tap_in_own_netns(int fd, const char **failed_call) {
  int nsfd = ioctl(fd, TUNGETDEVNETNS);
  if (nsfd < 0) {
    FAIL("ioctl(TUNGETDEVNETNS)");
    return -errno;
  }
  struct stat dev_ns, own_ns;
  int rc = 0;
  if (fstat(nsfd, &dev_ns) < 0) {
    FAIL("fstat(TUNGETDEVNETNS)");
    rc = -errno;
  } else if (stat("/proc/thread-self/ns/net", &own_ns) < 0) {
    FAIL("stat(/proc/thread-self/ns/net)");
    rc = -errno;
  } else {
    rc = dev_ns.st_ino == own_ns.st_ino && dev_ns.st_dev == own_ns.st_dev;
  }
  close(nsfd);
  return rc;
}

/* Errors after which the fd will never move a frame again (tun_get() finds no device). */
static int is_fatal(int e) { return e == EBADF || e == EBADFD || e == ENODEV || e == ENXIO; }

uint32_t tap_read_batch(int fd, uint8_t *arena, size_t slot_size, uint32_t max, uint32_t *lens,
                        struct tap_batch_result *r) {
  memset(r, 0, sizeof *r);
  uint32_t n = 0;
  /* Attempts are bounded by `max` as well, so a stream of per-frame errors cannot spin here. */
  for (uint32_t attempt = 0; attempt < max && n < max; attempt++) {
    ssize_t got = read(fd, arena + (size_t)n * slot_size, slot_size);
    if (got >= 0) {
      lens[n++] = (uint32_t)got;
      r->bytes += (uint64_t)got;
      continue;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      r->would_block = 1;
      break;
    }
    if (is_fatal(e)) {
      r->fatal_errno = e;
      break;
    }
    r->errors++;
    r->last_errno = e;
  }
  return n;
}

uint32_t tap_write_batch(int fd, const uint8_t *arena, size_t arena_len, const uint32_t *offs,
                         const uint32_t *lens, uint32_t first, uint32_t count, struct tap_batch_result *r) {
  memset(r, 0, sizeof *r);
  uint32_t done = 0;
  while (done < count) {
    uint32_t i = first + done;
    size_t off = offs[i], len = lens[i];
    if (off > arena_len || len > arena_len - off) {
      /* Never read outside the arena, whatever the caller put in offs/lens. */
      r->errors++;
      r->last_errno = EFAULT;
      done++;
      continue;
    }
    ssize_t put = write(fd, arena + off, len);
    if (put >= 0) {
      r->bytes += (uint64_t)put;
      done++;
      continue;
    }
    int e = errno;
    if (e == EINTR) continue;
    if (e == EAGAIN || e == EWOULDBLOCK) {
      r->would_block = 1;
      break;
    }
    if (is_fatal(e)) {
      r->fatal_errno = e;
      break;
    }
    r->errors++;
    r->last_errno = e;
    done++;
  }
  return done;
}
