// CLinux: the Linux calls Swift's Glibc module does not expose (they sit behind _GNU_SOURCE or are
// macros), wrapped as plain functions. Each wrapper is a thin translation: no policy lives here.
// Return convention: >= 0 success, -errno on failure (no reliance on the thread's errno). No
// wrapper retries EINTR: the Swift side does, in one place (`retrying` in BulkheadSystem).
#ifndef BULKHEAD_CLINUX_H
#define BULKHEAD_CLINUX_H

#include <stdint.h>
#include <stddef.h>
#include <sys/types.h>
#include <sys/un.h>

#ifdef __cplusplus
extern "C" {
#endif

// MARK: clocks

/// clock_gettime(CLOCK_MONOTONIC) in nanoseconds.
uint64_t bh_monotonic_ns(void);
/// clock_gettime(CLOCK_REALTIME) in nanoseconds since the epoch.
int64_t bh_realtime_ns(void);

// MARK: epoll

enum {
    BH_EPOLLIN = 0x001,
    BH_EPOLLOUT = 0x004,
    BH_EPOLLERR = 0x008,
    BH_EPOLLHUP = 0x010,
    BH_EPOLLRDHUP = 0x2000,
};

/// An epoll event with a 64-bit token, unpacked (the kernel's struct is packed on x86_64).
typedef struct bh_event {
    uint32_t events;
    uint64_t token;
} bh_event;

/// epoll_create1(EPOLL_CLOEXEC).
int bh_epoll_create(void);
/// epoll_ctl(EPOLL_CTL_ADD).
int bh_epoll_add(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_MOD).
int bh_epoll_modify(int epfd, int fd, uint32_t events, uint64_t token);
/// epoll_ctl(EPOLL_CTL_DEL).
int bh_epoll_remove(int epfd, int fd);
/// epoll_pwait2 with a nanosecond timeout (< 0: wait forever). Returns the event count, 0 on
/// timeout, -EINTR is retried inside.
int bh_epoll_wait(int epfd, bh_event *events, int max_events, int64_t timeout_ns);

// MARK: signals

/// Blocks the given signals in the calling thread (pthread_sigmask SIG_BLOCK). Threads created
/// afterwards inherit the mask, which a signalfd needs in *every* thread.
int bh_block_signals(const int *signals, int count);
/// signalfd(-1, set, SFD_CLOEXEC | SFD_NONBLOCK) for the given signals.
int bh_signalfd_open(const int *signals, int count);

typedef struct bh_signal_info {
    int signo;
    int32_t sender_pid;
    uint32_t sender_uid;
} bh_signal_info;

/// Reads one signalfd_siginfo. Returns 1 when one was read, 0 when none is pending.
int bh_signalfd_read(int fd, bh_signal_info *out);
/// sigaction(signo, SIG_IGN).
int bh_ignore_signal(int signo);

// MARK: processes

/// prctl(PR_SET_CHILD_SUBREAPER, 1): orphans of workers are reparented to us, so one reaper
/// sees every process a worker leaves behind.
int bh_become_subreaper(void);

typedef struct bh_exit {
    pid_t pid;
    int exited;          // 1: exit(code); 0: killed by signal
    int code;            // exit code or signal number
    int core_dumped;
    int64_t user_us;
    int64_t system_us;
    int64_t max_rss_kib;
} bh_exit;

/// wait4(-1, WNOHANG) with the status macros applied. Returns 1 when a child was reaped,
/// 0 when no child has exited, -ECHILD when there are no children.
int bh_reap_any(bh_exit *out);
/// wait4(pid, WNOHANG): 1 when that child was reaped, 0 when it has not exited yet, -ECHILD
/// when it is not (or no longer) our child.
int bh_reap_pid(pid_t pid, bh_exit *out);
/// bh_reap_any and bh_reap_pid with __WNOTHREAD: only children of the calling thread (those it
/// spawned, and orphans reparented to it), not those another thread of ours spawned.
int bh_reap_any_of_thread(bh_exit *out);
int bh_reap_pid_of_thread(pid_t pid, bh_exit *out);

/// waitid(P_PIDFD, pidfd, WEXITED | WNOHANG) with the rusage: reaps that one child, without
/// the O(children) scan wait4(-1) does. Returns 1 when reaped, 0 when it still runs, -errno.
int bh_reap_pidfd(int pidfd, bh_exit *out);
/// pidfd_open(pid, 0) (syscall 434).
int bh_pidfd_open(pid_t pid);
/// pidfd_getfd(pidfd, target, 0) (syscall 438, Linux 5.6; ptrace rights over the process): a
/// copy of its fd `target`, close-on-exec. -errno.
int bh_pidfd_getfd(int pidfd, int target);
/// ioctl(PIDFD_GET_INFO, PIDFD_INFO_EXIT) (Linux 6.15+): how the process behind `pidfd` ended,
/// for a process that is not our child, once its parent has reaped it. 1 when known (`out`
/// filled, no rusage), 0 when not (yet), -errno (ENOTTY, EINVAL) on kernels without it.
int bh_pidfd_exit_status(int pidfd, bh_exit *out);
/// Sets or clears FD_CLOEXEC: the fds a re-exec hands to the new daemon image lose it just
/// before execve, and get it back if execve fails.
int bh_set_cloexec(int fd, int on);
/// execve; returns -errno (it returns only when it failed).
int bh_exec(const char *path, char *const *argv, char *const *envp);
/// kill(-pgid, sig).
int bh_kill_group(pid_t pgid, int sig);
/// kill(pid, sig).
int bh_kill(pid_t pid, int sig);

typedef struct bh_rlimit {
    int resource;        // RLIMIT_*
    uint64_t soft;
    uint64_t hard;
} bh_rlimit;

enum {
    BH_RLIMIT_AS = 9,
    BH_RLIMIT_CORE = 4,
    BH_RLIMIT_CPU = 0,
    BH_RLIMIT_FSIZE = 1,
    BH_RLIMIT_NOFILE = 7,
    BH_RLIMIT_NPROC = 6,
    BH_RLIMIT_STACK = 3,
};
#define BH_RLIM_INFINITY (~(uint64_t)0)

/// What a child needs to start clean. Every pointer is owned by the caller and stays valid for
/// the duration of the call.
typedef struct bh_spawn_request {
    const char *path;                 // absolute path of the executable
    char *const *argv;                // NULL-terminated
    char *const *envp;                // NULL-terminated
    const char *cwd;                  // NULL: inherit
    int stdin_fd, stdout_fd, stderr_fd;
    const int *extra_fds;             // become fds 3, 4, … in the child (CLOEXEC cleared)
    int extra_fd_count;
    int new_session;                  // 1: setsid() (its own session and process group)
    int set_ids;                      // 1: switch to uid/gid/groups below
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int group_count;
    const bh_rlimit *rlimits;
    int rlimit_count;
    const int *cgroup_procs_fds;      // the child writes its pid into each before exec
    int cgroup_procs_count;
    int into_cgroup;                  // 1: born in into_cgroup_fd (0, the zeroed default: not)
    int into_cgroup_fd;               // a cgroup v2 directory the child is born in
    int into_cgroup_procs_fd;         // its cgroup.procs, written instead where clone3 cannot
    int set_nice;                     // 1: the child takes `nice` once it has exec'd (not the spawning thread's)
    int nice;
    // Output straight to journald (`output: journal-direct`): the child connects to this stream
    // socket, writes `journal_header` and makes the connection its stdout and stderr, so the
    // worker's own pid is the peer journald records and bulkhead never holds the fd.
    // NULL: stdout_fd and stderr_fd as given.
    const char *journal_socket;
    const char *journal_header;
    size_t journal_header_length;
    char *listen_pid_digits;          // NULL, or the value of an envp entry `LISTEN_PID=` with room for
                                      // 10 digits and a NUL: the child writes its own pid there, as
                                      // sd_listen_fds(3) checks (only the child knows it before execve)
} bh_spawn_request;

enum {
    BH_SPAWN_STAGE_CLONE = 1,
    BH_SPAWN_STAGE_SESSION,
    BH_SPAWN_STAGE_CGROUP,
    BH_SPAWN_STAGE_RLIMIT,
    BH_SPAWN_STAGE_FDS,
    BH_SPAWN_STAGE_CWD,
    BH_SPAWN_STAGE_GROUPS,
    BH_SPAWN_STAGE_GID,
    BH_SPAWN_STAGE_UID,
    BH_SPAWN_STAGE_EXEC,
    BH_SPAWN_STAGE_JOURNAL,           // journald's stream socket refused (or is not there)
};

typedef struct bh_spawn_result {
    pid_t pid;           // > 0 on success
    int failed_stage;    // BH_SPAWN_STAGE_* when the child could not exec
    int error;           // errno of that stage
    int start_known;     // 1: start_ticks is the child's start time, exactly
    uint64_t start_ticks;  // /proc/PID/stat's starttime (clock ticks since boot)
} bh_spawn_result;

/// Long-lived fds go at or above this (bh_fd_move_high); spawns pass only fds below it.
#define BH_HIGH_FD_BASE 256

/// Moves a long-lived fd to BH_HIGH_FD_BASE or above (CLOEXEC); returns the new fd (or `fd` when
/// there is no room). Keeps the low range small, which keeps every spawn cheap.
int bh_fd_move_high(int fd);

/// Starts a child with clone(CLONE_VM | CLONE_VFORK): all signal dispositions default, empty
/// signal mask, its own session, the given fds only, then execve. The calling thread resumes
/// once the child has exec'd or failed; a failed child is reaped here (it never became a worker).
bh_spawn_result bh_spawn(const bh_spawn_request *request);

// MARK: fds, pipes, memfd

/// pipe2(O_CLOEXEC); then O_NONBLOCK on the read end only (a worker's write end stays blocking).
int bh_pipe(int fds[2]);
/// fcntl(F_SETPIPE_SZ).
int bh_set_pipe_size(int fd, int bytes);
/// fcntl O_NONBLOCK on/off.
int bh_set_nonblocking(int fd, int on);
/// eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK).
int bh_eventfd(void);
/// memfd_create(name, MFD_CLOEXEC) + ftruncate(size).
int bh_memfd(const char *name, size_t size);
/// Like bh_memfd, but sealed at `size` (F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL): for a file
/// bulkhead maps after handing it to a worker, which could otherwise truncate it and turn
/// bulkhead's next read of the mapping into SIGBUS.
int bh_memfd_sealed(const char *name, size_t size);
/// open(path, flags | O_CLOEXEC, mode).
int bh_open(const char *path, int flags, int mode);

// MARK: sockets

/// An AF_UNIX datagram socket bound to `name` (a leading '@' means the abstract namespace),
/// SOCK_CLOEXEC | SOCK_NONBLOCK, with SO_PASSCRED so every datagram carries its sender.
int bh_notify_socket(const char *name, int receive_buffer);

typedef struct bh_datagram {
    ssize_t length;      // bytes stored in the buffer
    int truncated;       // the datagram was longer than the buffer
    int has_credentials;
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int fd_count;        // file descriptors that came with it, in `fds` (beyond 8: closed here)
    int fds[8];
} bh_datagram;

/// recvmsg(MSG_DONTWAIT | MSG_CMSG_CLOEXEC | MSG_TRUNC). Returns 1 when one was read,
/// 0 when none is pending. The caller closes `fds` (after checking the sender: a sender that
/// waits on a barrier fd is still alive until it is closed).
int bh_notify_receive(int fd, void *buffer, size_t capacity, bh_datagram *out);
/// The credentials and fds in a datagram's ancillary data (`control`, `length` bytes as
/// recvmsg left them), into `out`; fds past the 8 `out` holds go to `discard` (close). Pure
/// apart from `discard`: the fuzz target `notify` feeds it arbitrary bytes.
void bh_notify_read_control(void *control, size_t length, bh_datagram *out, void (*discard)(int fd));
/// Sends one datagram to an AF_UNIX path or '@abstract' name (an sd_notify client).
int bh_notify_send(const char *name, const void *bytes, size_t length);

/// accept4(SOCK_CLOEXEC | SOCK_NONBLOCK). Returns the fd, -EAGAIN when none is waiting.
int bh_unix_accept(int fd);
/// Fills `addr` for an AF_UNIX path or an '@abstract' name (the sd_notify address forms);
/// returns the address's length, or -ENAMETOOLONG when it does not fit (or is empty).
int bh_unix_address(const char *name, struct sockaddr_un *addr);
/// SO_PEERCRED.
int bh_peer_credentials(int fd, pid_t *pid, uid_t *uid, gid_t *gid);
/// send(MSG_NOSIGNAL | MSG_DONTWAIT).
ssize_t bh_send_nonblocking(int fd, const void *bytes, size_t length);

// MARK: users

/// getpwnam_r: uid, primary gid and supplementary groups (getgrouplist).
int bh_lookup_user(const char *name, uid_t *uid, gid_t *gid, gid_t *groups, int *group_count);
/// getgrnam_r.
int bh_lookup_group(const char *name, gid_t *gid);
/// getgrgid_r + member check: is `uid`'s user a member of `gid` (primary or supplementary)?
int bh_user_in_group(uid_t uid, gid_t gid);

// MARK: exit timestamps (netlink proc connector)

/// Subscribes to the kernel's exit events of `parent`'s children (needs CAP_NET_ADMIN; a socket
/// filter drops every other exit in the kernel). Each carries the CLOCK_MONOTONIC time of the
/// exit, which is how `detect_latency_us` is measured.
int bh_exit_events_open(int receive_buffer, pid_t parent);

typedef struct bh_exit_event {
    pid_t pid;
    uint64_t timestamp_ns;
} bh_exit_event;

/// Reads what is pending; stores up to `capacity` thread exits (pid = the thread group id).
/// Returns the count stored, 0 when nothing is pending, -ENOBUFS when events were lost.
int bh_exit_events_read(int fd, bh_exit_event *out, int capacity);

typedef struct bh_proc_event {
    int kind;            // 1 fork, 2 exec, 3 exit
    pid_t pid;
    pid_t parent;        // fork: the parent; exit: the parent; exec: 0
    uint64_t timestamp_ns;
} bh_proc_event;

/// Fork, exec and exit events of every process (benchmarks: spawn and restart latency).
int bh_proc_events_open(int receive_buffer);
int bh_proc_events_read(int fd, bh_proc_event *out, int capacity);

// MARK: misc

/// Whether a process started with clone3(CLONE_INTO_CGROUP) in the cgroup v2 directory
/// `cgroup_fd` lives: 1 yes, 0 it was killed at birth (kernels that apply an earlier
/// cgroup.kill of that group to it), -errno when clone3 cannot place it at all.
int bh_probe_clone_into_cgroup(int cgroup_fd);
/// setpriority(PRIO_PROCESS, gettid(), nice): the calling thread only. The daemon's loop
/// thread runs above its workers and its helper threads (writers) below them, so on a busy
/// machine the loop gets the CPU.
int bh_set_thread_nice(int nice_value);
/// sched_setattr of the calling thread with `nanoseconds` as its slice (`sched_runtime` of the
/// fair class, Linux 6.12+: clamped to 0.1–100 ms), its policy and nice unchanged. A thread with
/// a short slice preempts a running one when it wakes, instead of waiting for that one's slice
/// (0.75 ms and more) to end. 0, or -errno.
int bh_set_thread_slice(uint64_t nanoseconds);
/// The calling thread's nice value (getpriority with its tid); INT_MIN when it cannot be read.
int bh_thread_nice(void);
/// getrlimit/setrlimit(RLIMIT_NOFILE): raise the soft limit to the hard limit; returns it.
int64_t bh_raise_fd_limit(void);

// MARK: breadcrumbs (the shared ring a worker writes and bulkhead reads after its death)

#define BH_CRUMB_MAGIC 0x424b4843u   /* "BKHC" */
#define BH_CRUMB_TEXT 232            /* bytes of text per entry */

/// The region is a header followed by `capacity` fixed-size slots. A writer claims a slot with
/// an atomic increment of `next`, marks it odd (being written), copies, then marks it even with
/// the claim number; a reader keeps slots whose sequence is even and stable.
typedef struct bh_crumb_header {
    uint32_t magic;
    uint32_t capacity;
    uint64_t next;           // total entries ever claimed
    uint64_t dying_ns;       // CLOCK_MONOTONIC stamped by a worker just before it exits on purpose
    uint64_t reserved[5];
} bh_crumb_header;

typedef struct bh_crumb_slot {
    uint64_t sequence;       // 2*claim+1 while written, 2*claim+2 when complete
    int64_t realtime_ns;
    uint32_t length;
    uint32_t reserved;
    char text[BH_CRUMB_TEXT];
} bh_crumb_slot;

/// Bytes needed for `capacity` slots.
size_t bh_crumb_region_size(uint32_t capacity);
/// Formats a fresh region (bulkhead does this before passing it).
void bh_crumb_init(void *region, uint32_t capacity);
/// Appends one entry (lock-free, safe from any thread; text is cut at BH_CRUMB_TEXT).
/// A zero-filled region (what bulkhead passes) is formatted by the first write, with as many
/// slots as fit (at most 4096). Returns 0, or -1 when the region is not a breadcrumb ring.
int bh_crumb_write(void *region, size_t region_size, int64_t realtime_ns, const char *text, size_t length);
/// Stamps the header's dying time.
void bh_crumb_mark_dying(void *region, uint64_t monotonic_ns);

typedef struct bh_crumb_entry {
    uint64_t claim;
    int64_t realtime_ns;
    uint32_t length;
    char text[BH_CRUMB_TEXT];
} bh_crumb_entry;

/// Copies the complete entries, oldest first, into `out`: the newest `capacity` of them when the
/// ring holds more. Reads only inside `region_size`: the region is written by a process we do
/// not trust.
int bh_crumb_read(const void *region, size_t region_size, bh_crumb_entry *out, int capacity);

#ifdef __cplusplus
}
#endif
#endif
