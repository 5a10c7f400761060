// CLinux: constants and thin wrappers; see include/CLinux.h.
#define _GNU_SOURCE
#include "CLinux.h"

#include <string.h>
#include <fcntl.h>
#include <unistd.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/eventfd.h>
#include <sys/epoll.h>
#include <net/if.h>
#include <linux/if_tun.h>
#include <linux/sockios.h>

const unsigned long clinux_TUNSETIFF = TUNSETIFF;
const unsigned long clinux_TUNGETIFF = TUNGETIFF;
const unsigned long clinux_TUNGETFEATURES = TUNGETFEATURES;
const unsigned long clinux_TUNSETOFFLOAD = TUNSETOFFLOAD;
const unsigned long clinux_TUNGETVNETHDRSZ = TUNGETVNETHDRSZ;
const unsigned long clinux_TUNSETVNETHDRSZ = TUNSETVNETHDRSZ;
const unsigned long clinux_TUNSETVNETLE = TUNSETVNETLE;
const unsigned long clinux_SIOCGIFHWADDR = SIOCGIFHWADDR;

const int clinux_IFF_TUN = IFF_TUN;
const int clinux_IFF_TAP = IFF_TAP;
const int clinux_IFF_NO_PI = IFF_NO_PI;
const int clinux_IFF_VNET_HDR = IFF_VNET_HDR;
const int clinux_IFF_MULTI_QUEUE = IFF_MULTI_QUEUE;

const unsigned clinux_TUN_F_CSUM = TUN_F_CSUM;
const unsigned clinux_TUN_F_TSO4 = TUN_F_TSO4;
const unsigned clinux_TUN_F_TSO6 = TUN_F_TSO6;
const unsigned clinux_TUN_F_TSO_ECN = TUN_F_TSO_ECN;
const unsigned clinux_TUN_F_UFO = TUN_F_UFO;

int clinux_tun_get_iff(int fd, char name[16], int *flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    int r = ioctl(fd, TUNGETIFF, &ifr);
    if (r < 0) return r;
    memcpy(name, ifr.ifr_name, IFNAMSIZ);
    name[IFNAMSIZ - 1] = 0;
    *flags = (unsigned short)ifr.ifr_flags;
    return r;
}

int clinux_tun_set_iff(int fd, int flags) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    ifr.ifr_flags = (short)flags;
    return ioctl(fd, TUNSETIFF, &ifr);
}

int clinux_tun_get_features(int fd, unsigned *features) { return ioctl(fd, TUNGETFEATURES, features); }
int clinux_tun_set_offload(int fd, unsigned offload) { return ioctl(fd, TUNSETOFFLOAD, (unsigned long)offload); }
int clinux_tun_get_vnet_hdr_size(int fd, int *size) { return ioctl(fd, TUNGETVNETHDRSZ, size); }
int clinux_tun_set_vnet_hdr_size(int fd, int size) { return ioctl(fd, TUNSETVNETHDRSZ, &size); }

int clinux_tap_get_hwaddr(int fd, uint8_t mac[6]) {
    struct ifreq ifr;
    memset(&ifr, 0, sizeof ifr);
    int r = ioctl(fd, SIOCGIFHWADDR, &ifr);
    if (r < 0) return r;
    memcpy(mac, ifr.ifr_hwaddr.sa_data, 6);
    return r;
}

const int clinux_EFD_NONBLOCK = EFD_NONBLOCK;
const int clinux_EFD_CLOEXEC = EFD_CLOEXEC;
int clinux_eventfd(unsigned initval, int flags) { return eventfd(initval, flags); }

const uint32_t clinux_EPOLLIN = EPOLLIN;
const uint32_t clinux_EPOLLOUT = EPOLLOUT;
const uint32_t clinux_EPOLLERR = EPOLLERR;
const uint32_t clinux_EPOLLHUP = EPOLLHUP;

int clinux_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

static int epoll_ctl_token(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev);
}
int clinux_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    return epoll_ctl_token(epfd, EPOLL_CTL_ADD, fd, events, token);
}
int clinux_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token) {
    return epoll_ctl_token(epfd, EPOLL_CTL_MOD, fd, events, token);
}
int clinux_epoll_remove(int epfd, int fd) { return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL); }

int clinux_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms) {
    struct epoll_event evs[64];
    if (capacity > 64) capacity = 64;
    int n = epoll_wait(epfd, evs, capacity, timeout_ms);
    for (int i = 0; i < n; i++) {
        tokens[i] = evs[i].data.u64;
        events[i] = evs[i].events;
    }
    return n;
}

int clinux_mknod_char(const char *path, unsigned mode, unsigned major, unsigned minor) {
    return mknod(path, S_IFCHR | (mode & 07777), makedev(major, minor));
}

const int clinux_CLONE_NEWNET = CLONE_NEWNET;
int clinux_setns(int fd, int nstype) { return setns(fd, nstype); }

int clinux_pipe_cloexec(int fds[2]) { return pipe2(fds, O_CLOEXEC); }
