// The kernel's process connector: an exit event for every process, stamped with the
// CLOCK_MONOTONIC time of the exit itself. Matching it against the moment we reap gives a real
// death → noticed latency, not a guess. Needs CAP_NET_ADMIN and the initial namespaces; callers
// treat failure as "not measured".
#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <linux/cn_proc.h>
#include <linux/connector.h>
#include <linux/filter.h>
#include <linux/netlink.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <arpa/inet.h>

static int proc_events_open(int receive_buffer, uint32_t mask) {
    int fd = socket(PF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_CONNECTOR);
    if (fd < 0) return -errno;
    if (receive_buffer > 0) {
        // SO_RCVBUFFORCE (root) so a burst of unrelated exits does not overflow the queue.
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &receive_buffer, sizeof receive_buffer) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    }
    struct sockaddr_nl addr;
    memset(&addr, 0, sizeof addr);
    addr.nl_family = AF_NETLINK;
    addr.nl_groups = CN_IDX_PROC;
    if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) goto fail;

    // Listen request with an event filter (Linux >= 6.6 reads the second word: exits only;
    // older kernels see an unknown length and we simply receive every event kind).
    uint32_t filter[2] = { PROC_CN_MCAST_LISTEN, mask };
    char request[NLMSG_SPACE(sizeof(struct cn_msg) + sizeof filter)] __attribute__((aligned(8)));
    memset(request, 0, sizeof request);
    struct nlmsghdr *header = (struct nlmsghdr *)request;
    header->nlmsg_len = NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof filter);
    header->nlmsg_type = NLMSG_DONE;
    header->nlmsg_pid = (uint32_t)getpid();
    struct cn_msg *message = NLMSG_DATA(header);
    message->id.idx = CN_IDX_PROC;
    message->id.val = CN_VAL_PROC;
    message->len = sizeof filter;
    memcpy(message->data, filter, sizeof filter);
    if (send(fd, request, header->nlmsg_len, 0) < 0) goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

int bh_exit_events_read(int fd, bh_exit_event *out, int capacity) {
    int stored = 0;
    char buffer[16384] __attribute__((aligned(8)));
    while (stored < capacity) {
        ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return stored > 0 ? stored : -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_type == NLMSG_ERROR || h->nlmsg_type == NLMSG_NOOP) continue;
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event))) continue;
            struct cn_msg *message = NLMSG_DATA(h);
            struct proc_event *event = (struct proc_event *)message->data;
            if (event->what != PROC_EVENT_EXIT) continue;
            // Every thread's exit is kept: a process is dead when its last thread is, so the
            // caller takes the latest time per thread group.
            if (stored < capacity) {
                out[stored].pid = event->event_data.exit.process_tgid;
                out[stored].timestamp_ns = event->timestamp_ns;
                stored++;
            }
        }
    }
    return stored;
}

// A classic BPF filter on the socket keeps only exits of our own children: without it every
// process exit on the machine would wake the supervisor. Offsets: nlmsghdr (16) + cn_msg (20)
// puts proc_event at 36; `what` is its first word; exit.parent_tgid is at 36 + 16 + 20 = 72.
// BPF word loads are big-endian, the message is host order: compare with htonl'd constants.
int bh_exit_events_open(int receive_buffer, pid_t parent) {
    int fd = proc_events_open(receive_buffer, PROC_EVENT_EXIT);
    if (fd < 0) return fd;
    struct sock_filter code[] = {
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 36),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl(PROC_EVENT_EXIT), 0, 3),
        BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 72),
        BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, htonl((uint32_t)parent), 0, 1),
        BPF_STMT(BPF_RET | BPF_K, 0xffffffff),
        BPF_STMT(BPF_RET | BPF_K, 0),
    };
    struct sock_fprog program = { .len = sizeof code / sizeof code[0], .filter = code };
    if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_FILTER, &program, sizeof program) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

int bh_proc_events_open(int receive_buffer) {
    return proc_events_open(receive_buffer, PROC_EVENT_FORK | PROC_EVENT_EXEC | PROC_EVENT_EXIT);
}

int bh_proc_events_read(int fd, bh_proc_event *out, int capacity) {
    int stored = 0;
    char buffer[16384] __attribute__((aligned(8)));
    while (stored < capacity) {
        ssize_t n = recv(fd, buffer, sizeof buffer, MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK) break;
            return stored > 0 ? stored : -errno;
        }
        for (struct nlmsghdr *h = (struct nlmsghdr *)buffer; NLMSG_OK(h, (size_t)n); h = NLMSG_NEXT(h, n)) {
            if (h->nlmsg_len < NLMSG_LENGTH(sizeof(struct cn_msg) + sizeof(struct proc_event))) continue;
            struct proc_event *event = (struct proc_event *)((struct cn_msg *)NLMSG_DATA(h))->data;
            if (stored >= capacity) break;
            bh_proc_event *e = &out[stored];
            e->timestamp_ns = event->timestamp_ns;
            switch (event->what) {
            case PROC_EVENT_FORK:
                if (event->event_data.fork.child_pid != event->event_data.fork.child_tgid) continue;
                e->kind = 1;
                e->pid = event->event_data.fork.child_tgid;
                e->parent = event->event_data.fork.parent_tgid;
                break;
            case PROC_EVENT_EXEC:
                e->kind = 2;
                e->pid = event->event_data.exec.process_tgid;
                e->parent = 0;
                break;
            case PROC_EVENT_EXIT:
                if (event->event_data.exit.process_pid != event->event_data.exit.process_tgid) continue;
                e->kind = 3;
                e->pid = event->event_data.exit.process_tgid;
                e->parent = event->event_data.exit.parent_tgid;
                break;
            default:
                continue;
            }
            stored++;
        }
    }
    return stored;
}
