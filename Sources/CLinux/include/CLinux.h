// CLinux: the few Linux kernel interfaces Swift cannot import on its own.
//
// The TUN* ioctl numbers are function-like macros (_IOW/_IOR) that Swift does not import, and Glibc's module
// does not expose <sys/eventfd.h>, <sys/epoll.h> or <linux/if_tun.h>. Everything here is a plain constant or a
// thin inline wrapper that returns the syscall's result unchanged (-1 with errno set on failure).
// _GNU_SOURCE is defined in CLinux.c only: defining it here breaks the debug build (fd_set module conflict).
#ifndef CLINUX_H
#define CLINUX_H

#include <stdint.h>

// ---- linux/if_tun.h ----------------------------------------------------------------------------------------
extern const unsigned long clinux_TUNSETIFF;
extern const unsigned long clinux_TUNGETIFF;
extern const unsigned long clinux_TUNGETFEATURES;
extern const unsigned long clinux_TUNSETOFFLOAD;
extern const unsigned long clinux_TUNGETVNETHDRSZ;
extern const unsigned long clinux_TUNSETVNETHDRSZ;
extern const unsigned long clinux_TUNSETVNETLE;
extern const unsigned long clinux_SIOCGIFHWADDR;

extern const int clinux_IFF_TUN;
extern const int clinux_IFF_TAP;
extern const int clinux_IFF_NO_PI;
extern const int clinux_IFF_VNET_HDR;
extern const int clinux_IFF_MULTI_QUEUE;

extern const unsigned clinux_TUN_F_CSUM;
extern const unsigned clinux_TUN_F_TSO4;
extern const unsigned clinux_TUN_F_TSO6;
extern const unsigned clinux_TUN_F_TSO_ECN;
extern const unsigned clinux_TUN_F_UFO;

/// ioctl(TUNGETIFF): the interface name (at most 15 bytes + NUL into `name`, 16 bytes) and IFF_* flags.
int clinux_tun_get_iff(int fd, char name[16], int *flags);
/// ioctl(TUNSETIFF) with the given IFF_* flags and an empty name (macvtap ignores the name).
int clinux_tun_set_iff(int fd, int flags);
/// ioctl(TUNGETFEATURES).
int clinux_tun_get_features(int fd, unsigned *features);
/// ioctl(TUNSETOFFLOAD) with TUN_F_* bits.
int clinux_tun_set_offload(int fd, unsigned offload);
/// ioctl(TUNGETVNETHDRSZ).
int clinux_tun_get_vnet_hdr_size(int fd, int *size);
/// ioctl(TUNSETVNETHDRSZ).
int clinux_tun_set_vnet_hdr_size(int fd, int size);
/// ioctl(SIOCGIFHWADDR) on the tap fd itself (macvtap answers it): the device's 6-byte MAC into `mac`.
int clinux_tap_get_hwaddr(int fd, uint8_t mac[6]);

// ---- sys/eventfd.h -----------------------------------------------------------------------------------------
extern const int clinux_EFD_NONBLOCK;
extern const int clinux_EFD_CLOEXEC;
int clinux_eventfd(unsigned initval, int flags);

// ---- sys/epoll.h -------------------------------------------------------------------------------------------
extern const uint32_t clinux_EPOLLIN;
extern const uint32_t clinux_EPOLLOUT;
extern const uint32_t clinux_EPOLLERR;
extern const uint32_t clinux_EPOLLHUP;
int clinux_epoll_create(void);
/// epoll_ctl(EPOLL_CTL_ADD) with `events` and a 64-bit user token.
int clinux_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_MOD).
int clinux_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_DEL).
int clinux_epoll_remove(int epfd, int fd);
/// epoll_wait into parallel arrays of tokens and event masks; returns the count (or -1, errno).
int clinux_epoll_wait(int epfd, uint64_t *tokens, uint32_t *events, int capacity, int timeout_ms);

// ---- processes ---------------------------------------------------------------------------------------------
/// pipe2(fds, O_CLOEXEC): both ends close-on-exec from the start, so a program another thread spawns at the same
/// moment cannot inherit them (and keep the pipe open).
int clinux_pipe_cloexec(int fds[2]);

// ---- device nodes and namespaces ---------------------------------------------------------------------------
/// mknod(path, S_IFCHR | mode, makedev(major, minor)).
int clinux_mknod_char(const char *path, unsigned mode, unsigned major, unsigned minor);
extern const int clinux_CLONE_NEWNET;
/// setns(2).
int clinux_setns(int fd, int nstype);

#endif
