// Clocks, epoll and signalfd.
#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <signal.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

uint64_t bh_monotonic_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t bh_realtime_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000ll + (int64_t)ts.tv_nsec;
}

int bh_epoll_create(void) {
    int fd = epoll_create1(EPOLL_CLOEXEC);
    return fd < 0 ? -errno : fd;
}

static int epoll_control(int epfd, int op, int fd, uint32_t events, uint64_t token) {
    struct epoll_event ev;
    memset(&ev, 0, sizeof ev);
    ev.events = events;
    ev.data.u64 = token;
    return epoll_ctl(epfd, op, fd, &ev) < 0 ? -errno : 0;
}

int bh_epoll_add(int epfd, int fd, uint32_t events, uint64_t token) {
    return epoll_control(epfd, EPOLL_CTL_ADD, fd, events, token);
}

int bh_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token) {
    return epoll_control(epfd, EPOLL_CTL_MOD, fd, events, token);
}

int bh_epoll_remove(int epfd, int fd) {
    return epoll_ctl(epfd, EPOLL_CTL_DEL, fd, NULL) < 0 ? -errno : 0;
}

int bh_epoll_wait(int epfd, bh_event *events, int max_events, int64_t timeout_ns) {
    enum { CHUNK = 256 };
    struct epoll_event raw[CHUNK];
    if (max_events > CHUNK) max_events = CHUNK;
    struct timespec ts, *tsp = NULL;
    if (timeout_ns >= 0) {
        ts.tv_sec = timeout_ns / 1000000000ll;
        ts.tv_nsec = timeout_ns % 1000000000ll;
        tsp = &ts;
    }
    int n = epoll_pwait2(epfd, raw, max_events, tsp, NULL);
    if (n < 0) return -errno;
    for (int i = 0; i < n; i++) {
        events[i].events = raw[i].events;
        events[i].token = raw[i].data.u64;
    }
    return n;
}

static void fill_set(sigset_t *set, const int *signals, int count) {
    sigemptyset(set);
    for (int i = 0; i < count; i++) sigaddset(set, signals[i]);
}

int bh_block_signals(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int rc = pthread_sigmask(SIG_BLOCK, &set, NULL);
    return rc == 0 ? 0 : -rc;
}

int bh_signalfd_open(const int *signals, int count) {
    sigset_t set;
    fill_set(&set, signals, count);
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

int bh_signalfd_read(int fd, bh_signal_info *out) {
    struct signalfd_siginfo info;
    ssize_t n = read(fd, &info, sizeof info);
    if (n < 0) return errno == EAGAIN ? 0 : -errno;
    if (n != sizeof info) return -EIO;
    out->signo = (int)info.ssi_signo;
    out->sender_pid = (int32_t)info.ssi_pid;
    out->sender_uid = info.ssi_uid;
    return 1;
}

int bh_ignore_signal(int signo) {
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_IGN;
    return sigaction(signo, &sa, NULL) < 0 ? -errno : 0;
}
