// Starting a worker clean. clone(CLONE_VM | CLONE_VFORK) instead of fork(): no page-table copy
// of the supervisor, so spawn cost does not grow with its size or its instance count. The child
// shares our memory until execve, so it calls raw system calls only: no malloc, no locks, and no
// glibc set*id wrappers (those broadcast to *our* threads).
#define _GNU_SOURCE
#include "CLinux.h"
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

enum { CHILD_STACK_SIZE = 128 * 1024, MAX_EXTRA_FDS = 32 };

// Spawn cost must not grow with the supervisor's fd count (3-4 fds per instance): closing
// thousands of inherited pipes and sockets in every child costs milliseconds. So long-lived fds
// live at or above BH_HIGH_FD_BASE (bh_fd_move_high), a child shares our table (CLONE_FILES)
// and its first act is close_range(BH_HIGH_FD_BASE, ~0, CLOSE_RANGE_UNSHARE): the kernel then
// copies only the low fds into the child's own table, and the high ones are never touched.
#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif

typedef struct child_context {
    const bh_spawn_request *request;
    int shares_table;                  // cloned with CLONE_FILES: unshare before touching fds
    int born_in_cgroup;                // clone3 put it in into_cgroup_fd already
    const int *sources;                // stdin, stdout, stderr, extras (all below the base)
    volatile int stage;
    volatile int error;
} child_context;

// The child runs on the parent's memory and thread until execve, so it makes raw system calls
// only: a sanitizer's interceptor (ThreadSanitizer's, AddressSanitizer's) entered in the child
// would change the parent thread's state, and one never left (execve, _exit) would leave it
// changed. Nor is its own code instrumented.
#define BH_CHILD __attribute__((no_sanitize("thread"), noinline))

BH_CHILD static int fail(child_context *ctx, int stage) {
    ctx->error = errno;
    ctx->stage = stage;
    syscall(SYS_exit, 127);
    return -1;
}

// The child's own connection to journald's stdout stream (as systemd's connect_logger_as does
// in its forked child): the peer credentials journald records are the worker's. Non-blocking
// while connecting, so a journald whose backlog is full refuses (EAGAIN) instead of holding
// the spawning thread, which is suspended until our execve; blocking again afterwards, as any
// program expects its stdout to be. The header is seven short lines into an empty socket
// buffer: it never blocks. Our side never reads (journald never writes).
BH_CHILD static int connect_journal(const bh_spawn_request *r) {
    int fd = (int)syscall(SYS_socket, AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) return -1;
    struct sockaddr_un addr;
    int addr_len = bh_unix_address(r->journal_socket, &addr);
    if (addr_len < 0) { errno = -addr_len; return -1; }
    if (syscall(SYS_connect, fd, (struct sockaddr *)&addr, (socklen_t)addr_len) < 0) return -1;
    size_t sent = 0;
    while (sent < r->journal_header_length) {
        long n = syscall(SYS_sendto, fd, r->journal_header + sent, r->journal_header_length - sent, MSG_NOSIGNAL, NULL, 0);
        if (n < 0) return -1;
        sent += (size_t)n;
    }
    long flags = syscall(SYS_fcntl, fd, F_GETFL);
    if (flags < 0 || syscall(SYS_fcntl, fd, F_SETFL, flags & ~O_NONBLOCK) < 0) return -1;
    syscall(SYS_shutdown, fd, SHUT_RD);
    return fd;
}

// Writes `value` in decimal and a NUL at `out` (room for 10 digits and the NUL).
BH_CHILD static void write_decimal(char *out, pid_t value) {
    char reversed[12];
    int k = 0;
    do { reversed[k++] = (char)('0' + value % 10); value /= 10; } while (value > 0 && k < 10);
    int n = 0;
    while (k > 0) out[n++] = reversed[--k];
    out[n] = '\0';
}

BH_CHILD static int child_main(void *arg) {
    child_context *ctx = arg;
    const bh_spawn_request *r = ctx->request;

    // Every disposition back to default: SIG_IGN survives execve, and our handlers must never
    // run on this shared stack. All signals are blocked until just before execve. The raw call
    // (glibc's refuses its reserved signals 32 and 33, whose SIG_IGN would survive too): an
    // all-zero kernel sigaction is SIG_DFL, no flags, empty mask, whatever the field order.
    unsigned long zeroed[4] = { 0, 0, 0, 0 };
    for (int sig = 1; sig < _NSIG; sig++) {
        if (sig == SIGKILL || sig == SIGSTOP) continue;
        syscall(SYS_rt_sigaction, sig, zeroed, NULL, _NSIG / 8);
    }

    if (ctx->shares_table) {
        if (syscall(SYS_close_range, (unsigned)BH_HIGH_FD_BASE, ~0u, CLOSE_RANGE_UNSHARE) < 0) fail(ctx, BH_SPAWN_STAGE_FDS);
    }

    if (r->new_session && syscall(SYS_setsid) < 0) fail(ctx, BH_SPAWN_STAGE_SESSION);

    pid_t self = (pid_t)syscall(SYS_getpid);
    // The environment is the parent's memory (CLONE_VM), a copy made for this spawn alone.
    if (r->listen_pid_digits) write_decimal(r->listen_pid_digits, self);

    int place_self = r->into_cgroup && !ctx->born_in_cgroup;
    if (r->cgroup_procs_count > 0 || place_self) {
        char digits[24];
        write_decimal(digits, self);
        int n = 0;
        while (digits[n] != '\0') n++;
        digits[n++] = '\n';
        for (int i = 0; i < r->cgroup_procs_count; i++) {
            if (syscall(SYS_write, r->cgroup_procs_fds[i], digits, (size_t)n) < 0) fail(ctx, BH_SPAWN_STAGE_CGROUP);
        }
        if (place_self) {
            if (syscall(SYS_write, r->into_cgroup_procs_fd, digits, (size_t)n) < 0) fail(ctx, BH_SPAWN_STAGE_CGROUP);
        }
    }


    // Move every source above the highest target first, so no dup3 overwrites a source that a
    // later one still needs; then put them in place (dup3 without flags clears CLOEXEC) and
    // close the rest.
    int count = 3 + r->extra_fd_count;
    if (r->extra_fd_count > MAX_EXTRA_FDS) { errno = EMFILE; fail(ctx, BH_SPAWN_STAGE_FDS); }
    int sources[3 + MAX_EXTRA_FDS];
    for (int i = 0; i < count; i++) sources[i] = ctx->sources[i];
    if (r->journal_socket) {
        int journal = connect_journal(r);
        if (journal < 0) fail(ctx, BH_SPAWN_STAGE_JOURNAL);
        sources[1] = journal;
        sources[2] = journal;
    }
    for (int i = 0; i < count; i++) {
        long moved = syscall(SYS_fcntl, sources[i], F_DUPFD_CLOEXEC, count);
        if (moved < 0) fail(ctx, BH_SPAWN_STAGE_FDS);
        sources[i] = (int)moved;
    }
    for (int i = 0; i < count; i++) {
        if (syscall(SYS_dup3, sources[i], i, 0) < 0) fail(ctx, BH_SPAWN_STAGE_FDS);
    }
    if (syscall(SYS_close_range, (unsigned)count, ~0u, 0) < 0) {
        for (int fd = count; fd < 65536; fd++) syscall(SYS_close, fd);
    }

    if (r->cwd && syscall(SYS_chdir, r->cwd) < 0) fail(ctx, BH_SPAWN_STAGE_CWD);

    // After the fd shuffle: a low RLIMIT_NOFILE must not make the dup above fail.
    for (int i = 0; i < r->rlimit_count; i++) {
        unsigned long long limit[2] = { r->rlimits[i].soft, r->rlimits[i].hard };
        if (syscall(SYS_prlimit64, 0, r->rlimits[i].resource, limit, NULL) < 0) fail(ctx, BH_SPAWN_STAGE_RLIMIT);
    }

    if (r->set_ids) {
        if (syscall(SYS_setgroups, (size_t)r->group_count, r->groups) < 0) fail(ctx, BH_SPAWN_STAGE_GROUPS);
        if (syscall(SYS_setresgid, r->gid, r->gid, r->gid) < 0) fail(ctx, BH_SPAWN_STAGE_GID);
        if (syscall(SYS_setresuid, r->uid, r->uid, r->uid) < 0) fail(ctx, BH_SPAWN_STAGE_UID);
    }

    unsigned long empty[_NSIG / (8 * sizeof(unsigned long))] = { 0 };
    syscall(SYS_rt_sigprocmask, SIG_SETMASK, empty, NULL, _NSIG / 8);
    syscall(SYS_execve, r->path, r->argv, r->envp);
    return fail(ctx, BH_SPAWN_STAGE_EXEC);
}

// One stack per spawning thread, reused: the parent is suspended while the child runs on it.
static __thread void *child_stack;

// Maps this thread's child stack the first time; 0, or the errno of the mmap.
static int ensure_child_stack(void) {
    if (child_stack) return 0;
    void *stack = mmap(NULL, CHILD_STACK_SIZE, PROT_READ | PROT_WRITE,
                       MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
    if (stack == MAP_FAILED) return errno;
    child_stack = stack;
    return 0;
}

// Moving a process into a cgroup (a write to cgroup.procs) write-locks the kernel's
// cgroup_threadgroup_rwsem, and unless the hierarchy is mounted `favordynmods` that waits for
// an RCU grace period: milliseconds on a busy machine, spent while our loop thread is
// suspended in the vfork. clone3(CLONE_INTO_CGROUP) starts the child in its cgroup instead and
// takes no such lock. glibc has no clone3 wrapper that runs a function on a new stack, so
// x86-64 gets this one; elsewhere, and on kernels before 5.7, the child writes cgroup.procs.
#if defined(__x86_64__) && defined(SYS_clone3)
#define BH_HAVE_CLONE3 1
struct bh_clone_args {
    unsigned long long flags, pidfd, child_tid, parent_tid, exit_signal;
    unsigned long long stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif

// The raw system call: the child starts on `stack` with every register as the parent had
// it, so `fn` and `arg` ride in r12/r13, and it never returns into this frame.
__attribute__((noinline))
static long clone3_call(struct bh_clone_args *args, int (*fn)(void *), void *arg) {
    register int (*callee)(void *) __asm__("r12") = fn;
    register void *argument __asm__("r13") = arg;
    long result;
    __asm__ volatile(
        "syscall\n\t"
        "testq %%rax, %%rax\n\t"
        "jnz 1f\n\t"
        "movq %%r13, %%rdi\n\t"
        "callq *%%r12\n\t"
        "movl %%eax, %%edi\n\t"
        "movl $60, %%eax\n\t"       // SYS_exit: fn never returns, but never fall through
        "syscall\n\t"
        "ud2\n"
        "1:"
        : "=a"(result)
        : "0"((long)SYS_clone3), "D"(args), "S"(sizeof *args), "r"(callee), "r"(argument)
        : "rcx", "r11", "memory");
    return result;
}

// clone3(flags | CLONE_INTO_CGROUP) of `fn(arg)` on the child stack, into `cgroup_fd` (or,
// with a negative one, where we are): the child's pid, or -errno.
static long clone3_into_cgroup(unsigned long flags, int cgroup_fd, int (*fn)(void *), void *arg) {
    struct bh_clone_args args;
    memset(&args, 0, sizeof args);
    args.flags = flags | (cgroup_fd >= 0 ? CLONE_INTO_CGROUP : 0);
    args.exit_signal = SIGCHLD;
    args.stack = (unsigned long long)(unsigned long)child_stack;
    args.stack_size = CHILD_STACK_SIZE;
    args.cgroup = (unsigned long long)cgroup_fd;
    return clone3_call(&args, fn, arg);
}

// 0 until clone3 was refused as unknown (ENOSYS).
static int clone3_unavailable;
// 0 until its cgroup field was refused as unknown (E2BIG: Linux 5.3 to 5.6).
static int clone3_cannot_place;

BH_CHILD static int exit_at_once(void *unused) {
    (void)unused;
    syscall(SYS_exit, 0);
    return 0;
}
#endif

int bh_probe_clone_into_cgroup(int cgroup_fd) {
#ifdef BH_HAVE_CLONE3
    int stack_error = ensure_child_stack();
    if (stack_error) return -stack_error;
    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    long pid = clone3_into_cgroup(CLONE_VM | CLONE_VFORK, cgroup_fd, exit_at_once, NULL);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    if (pid < 0) return (int)pid;
    int status = 0;
    while (waitpid((pid_t)pid, &status, __WALL) < 0 && errno == EINTR) {}
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 1 : 0;
#else
    (void)cgroup_fd;
    return -ENOSYS;
#endif
}

bh_spawn_result bh_spawn(const bh_spawn_request *request) {
    bh_spawn_result result = { 0, 0, 0, 0, 0 };
    int stack_error = ensure_child_stack();
    if (stack_error) {
        result.failed_stage = BH_SPAWN_STAGE_CLONE;
        result.error = stack_error;
        return result;
    }
    if (request->extra_fd_count > MAX_EXTRA_FDS) {
        result.failed_stage = BH_SPAWN_STAGE_FDS;
        result.error = EMFILE;
        return result;
    }
    // Every fd the child needs must sit below the base for the fast path; copy high ones down
    // for the duration of the call (the copies are CLOEXEC and closed below).
    int count = 3 + request->extra_fd_count;
    int sources[3 + MAX_EXTRA_FDS];
    int temporary[3 + MAX_EXTRA_FDS];
    int shares_table = 1;
    sources[0] = request->stdin_fd;
    sources[1] = request->stdout_fd;
    sources[2] = request->stderr_fd;
    for (int i = 0; i < request->extra_fd_count; i++) sources[3 + i] = request->extra_fds[i];
    for (int i = 0; i < count; i++) {
        temporary[i] = -1;
        if (sources[i] >= BH_HIGH_FD_BASE) {
            int low = fcntl(sources[i], F_DUPFD_CLOEXEC, 3);
            if (low >= 0 && low < BH_HIGH_FD_BASE) {
                temporary[i] = low;
                sources[i] = low;
            } else {
                if (low >= 0) close(low);
                shares_table = 0;
            }
        }
    }
    for (int i = 0; i < request->cgroup_procs_count; i++) {
        if (request->cgroup_procs_fds[i] >= BH_HIGH_FD_BASE) shares_table = 0;
    }
    if (request->into_cgroup && request->into_cgroup_procs_fd >= BH_HIGH_FD_BASE) shares_table = 0;
    child_context ctx = { request, shares_table, 0, sources, 0, 0 };
    unsigned long flags = CLONE_VM | CLONE_VFORK | (shares_table ? CLONE_FILES : 0);

    sigset_t all, previous;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &previous);
    pid_t pid = -1;
    int clone_errno = 0;
    // The kernel stamps the child's start (CLOCK_BOOTTIME) inside the clone; /proc/PID/stat
    // gives it in clock ticks. When the clock reads the same tick before and after the clone,
    // that tick is the child's start time: no /proc read (a file open per spawn) is needed.
    struct timespec boot_before;
    clock_gettime(CLOCK_BOOTTIME, &boot_before);
#ifdef BH_HAVE_CLONE3
    // Always the raw clone3, into the cgroup when there is one to be born in: ThreadSanitizer
    // intercepts glibc's clone() and takes a CLONE_VM child for a fork (its bookkeeping then
    // fails a CHECK); the raw system call it does not see. glibc's clone is left for kernels
    // without clone3 (before 5.3).
    if (!clone3_unavailable) {
        int into = request->into_cgroup && !clone3_cannot_place;
        ctx.born_in_cgroup = into;
        long r = clone3_into_cgroup(flags, into ? request->into_cgroup_fd : -1, child_main, &ctx);
        if (r < 0 && into) {
            // Whatever the reason (a kernel without CLONE_INTO_CGROUP, a cgroup that is not a
            // v2 leaf), the child can still write cgroup.procs itself, or fail with its own error.
            if (r == -E2BIG) clone3_cannot_place = 1;
            ctx.born_in_cgroup = 0;
            r = clone3_into_cgroup(flags, -1, child_main, &ctx);
        }
        if (r >= 0) {
            pid = (pid_t)r;
        } else if (r == -ENOSYS) {
            clone3_unavailable = 1;
        } else {
            clone_errno = (int)-r;
        }
    }
#endif
    if (pid < 0 && clone_errno == 0) {
        pid = clone(child_main, (char *)child_stack + CHILD_STACK_SIZE, (int)flags | SIGCHLD, &ctx);
        clone_errno = errno;
    }
    struct timespec boot_after;
    clock_gettime(CLOCK_BOOTTIME, &boot_after);
    pthread_sigmask(SIG_SETMASK, &previous, NULL);
    for (int i = 0; i < count; i++) {
        if (temporary[i] >= 0) close(temporary[i]);
    }
    long ticks_per_second = sysconf(_SC_CLK_TCK);
    if (ticks_per_second > 0 && 1000000000L % ticks_per_second == 0) {
        uint64_t tick_ns = 1000000000ULL / (uint64_t)ticks_per_second;
        uint64_t before = ((uint64_t)boot_before.tv_sec * 1000000000ULL + (uint64_t)boot_before.tv_nsec) / tick_ns;
        uint64_t after = ((uint64_t)boot_after.tv_sec * 1000000000ULL + (uint64_t)boot_after.tv_nsec) / tick_ns;
        if (before == after) {
            result.start_known = 1;
            result.start_ticks = before;
        }
    }

    if (pid < 0) {
        result.failed_stage = BH_SPAWN_STAGE_CLONE;
        result.error = clone_errno;
        return result;
    }
    if (ctx.stage != 0) {
        int status;
        while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {}
        result.failed_stage = ctx.stage;
        result.error = ctx.error;
        return result;
    }
    // Back to the priority bulkhead was started with (only its loop thread runs above it),
    // set from here once the child has exec'd: until then the loop thread is suspended in
    // clone (CLONE_VFORK), so the child keeps the loop's priority for that stretch. Lowered in
    // the child itself, it lost the CPU to the very workers it was restarting and held the
    // loop for milliseconds. Raising a nice value needs no privilege (and root may for anyone).
    if (request->set_nice) setpriority(PRIO_PROCESS, (id_t)pid, request->nice);
    result.pid = pid;
    return result;
}

int bh_fd_move_high(int fd) {
    if (fd < 0 || fd >= BH_HIGH_FD_BASE) return fd;
    int high = fcntl(fd, F_DUPFD_CLOEXEC, BH_HIGH_FD_BASE);
    if (high < 0) return fd;   // no room up there: keep it low (spawns take the slow path)
    close(fd);
    return high;
}
