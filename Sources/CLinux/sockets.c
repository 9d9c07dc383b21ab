// AF_UNIX sockets: the per-instance notify sockets and the control socket.
#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int bh_unix_address(const char *name, struct sockaddr_un *addr) {
    memset(addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    size_t len = strlen(name);
    if (len == 0 || len >= sizeof addr->sun_path) return -ENAMETOOLONG;
    memcpy(addr->sun_path, name, len);
    if (name[0] == '@') {
        addr->sun_path[0] = '\0';
        return (int)(offsetof(struct sockaddr_un, sun_path) + len);
    }
    return (int)(offsetof(struct sockaddr_un, sun_path) + len + 1);
}

int bh_notify_socket(const char *name, int receive_buffer) {
    struct sockaddr_un addr;
    int addr_len = bh_unix_address(name, &addr);
    if (addr_len < 0) return addr_len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -errno;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof one) < 0) goto fail;
    if (receive_buffer > 0) setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer);
    if (bind(fd, (struct sockaddr *)&addr, (socklen_t)addr_len) < 0) goto fail;
    return fd;
fail:;
    int e = errno;
    close(fd);
    return -e;
}

static void close_descriptor(int fd) {
    close(fd);
}

int bh_notify_receive(int fd, void *buffer, size_t capacity, bh_datagram *out) {
    union {
        char bytes[CMSG_SPACE(sizeof(struct ucred)) + CMSG_SPACE(sizeof(int) * 253)];
        struct cmsghdr align;
    } control;
    struct iovec iov = { .iov_base = buffer, .iov_len = capacity };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.bytes;
    msg.msg_controllen = sizeof control.bytes;
    ssize_t n = recvmsg(fd, &msg, MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    memset(out, 0, sizeof *out);
    out->truncated = (size_t)n > capacity || (msg.msg_flags & MSG_TRUNC);
    out->length = (size_t)n > capacity ? (ssize_t)capacity : n;
    bh_notify_read_control(msg.msg_control, msg.msg_controllen, out, close_descriptor);
    if (msg.msg_flags & MSG_CTRUNC) out->truncated = 1;
    return 1;
}

void bh_notify_read_control(void *control, size_t length, bh_datagram *out, void (*discard)(int fd)) {
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_control = control;
    msg.msg_controllen = length;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET) continue;
        // The payload is what cmsg_len claims, but never past the buffer: CMSG_FIRSTHDR and
        // CMSG_NXTHDR check only that a header fits (found by the fuzz target `notify`).
        size_t available = (size_t)((char *)control + length - (char *)CMSG_DATA(c));
        size_t payload = c->cmsg_len > CMSG_LEN(0) ? c->cmsg_len - CMSG_LEN(0) : 0;
        if (payload > available) payload = available;
        if (c->cmsg_type == SCM_CREDENTIALS && payload >= sizeof(struct ucred)) {
            struct ucred cred;
            memcpy(&cred, CMSG_DATA(c), sizeof cred);
            out->has_credentials = 1;
            out->pid = cred.pid;
            out->uid = cred.uid;
            out->gid = cred.gid;
        } else if (c->cmsg_type == SCM_RIGHTS) {
            // A worker may send fds (FDSTORE=1, BARRIER=1); we hand back at most 8 for the
            // caller to close and close the rest now, so they cannot fill our table.
            size_t count = payload / sizeof(int);
            for (size_t i = 0; i < count; i++) {
                int received;
                memcpy(&received, CMSG_DATA(c) + i * sizeof(int), sizeof received);
                if (out->fd_count < 8) out->fds[out->fd_count++] = received;
                else discard(received);
            }
        }
    }
}

int bh_notify_send(const char *name, const void *bytes, size_t length) {
    struct sockaddr_un addr;
    int addr_len = bh_unix_address(name, &addr);
    if (addr_len < 0) return addr_len;
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return -errno;
    ssize_t n = sendto(fd, bytes, length, MSG_NOSIGNAL, (struct sockaddr *)&addr, (socklen_t)addr_len);
    int e = errno;
    close(fd);
    return n < 0 ? -e : 0;
}

int bh_unix_accept(int fd) {
    int client = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
    return client < 0 ? -errno : client;
}

int bh_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid) {
    struct ucred cred;
    socklen_t len = sizeof cred;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) return -errno;
    *pid = cred.pid;
    *uid = cred.uid;
    *gid = cred.gid;
    return 0;
}

ssize_t bh_send_nonblocking(int fd, const void *bytes, size_t length) {
    ssize_t n = send(fd, bytes, length, MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0) return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
    return n;
}

