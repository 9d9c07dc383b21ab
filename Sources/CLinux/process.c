// Reaping, signalling and process attributes.
#define _GNU_SOURCE
#include <limits.h>
#include "CLinux.h"
#include <errno.h>
#include <signal.h>
#include <sched.h>
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>

int bh_become_subreaper(void) {
    return prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) < 0 ? -errno : 0;
}

static void fill_exit(pid_t pid, int status, const struct rusage *ru, bh_exit *out) {
    out->pid = pid;
    if (WIFEXITED(status)) {
        out->exited = 1;
        out->code = WEXITSTATUS(status);
        out->core_dumped = 0;
    } else {
        out->exited = 0;
        out->code = WTERMSIG(status);
        out->core_dumped = WCOREDUMP(status) ? 1 : 0;
    }
    out->user_us = (int64_t)ru->ru_utime.tv_sec * 1000000 + ru->ru_utime.tv_usec;
    out->system_us = (int64_t)ru->ru_stime.tv_sec * 1000000 + ru->ru_stime.tv_usec;
    out->max_rss_kib = ru->ru_maxrss;
}

static int reap(pid_t target, int options, bh_exit *out) {
    int status = 0;
    struct rusage ru;
    pid_t pid = wait4(target, &status, WNOHANG | options, &ru);
    if (pid < 0) return -errno;
    if (pid == 0) return 0;
    fill_exit(pid, status, &ru, out);
    return 1;
}

int bh_reap_any(bh_exit *out) { return reap(-1, 0, out); }
int bh_reap_pid(pid_t target, bh_exit *out) { return reap(target, 0, out); }
int bh_reap_any_of_thread(bh_exit *out) { return reap(-1, __WNOTHREAD, out); }
int bh_reap_pid_of_thread(pid_t target, bh_exit *out) { return reap(target, __WNOTHREAD, out); }

int bh_reap_pidfd(int pidfd, bh_exit *out) {
    // The raw waitid takes a fifth argument, the rusage, which glibc's wrapper does not pass.
    siginfo_t info;
    struct rusage ru;
    memset(&info, 0, sizeof info);
    long rc = syscall(SYS_waitid, 3 /* P_PIDFD */, pidfd, &info, WEXITED | WNOHANG, &ru);
    if (rc < 0) return -errno;
    if (info.si_pid == 0) return 0;
    out->pid = info.si_pid;
    if (info.si_code == CLD_EXITED) {
        out->exited = 1;
        out->code = info.si_status;
        out->core_dumped = 0;
    } else {
        out->exited = 0;
        out->code = info.si_status;
        out->core_dumped = info.si_code == CLD_DUMPED ? 1 : 0;
    }
    out->user_us = (int64_t)ru.ru_utime.tv_sec * 1000000 + ru.ru_utime.tv_usec;
    out->system_us = (int64_t)ru.ru_stime.tv_sec * 1000000 + ru.ru_stime.tv_usec;
    out->max_rss_kib = ru.ru_maxrss;
    return 1;
}

int bh_pidfd_open(pid_t pid) {
    long fd = syscall(SYS_pidfd_open, pid, 0);
    return fd < 0 ? -errno : (int)fd;
}

#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

int bh_pidfd_getfd(int pidfd, int target) {
    long fd = syscall(SYS_pidfd_getfd, pidfd, target, 0);
    return fd < 0 ? -errno : (int)fd;
}

int bh_kill_group(pid_t pgid, int sig) {
    if (pgid <= 1) return -EINVAL;   // never kill(0) or kill(-1): that is us, or everyone
    return kill(-pgid, sig) < 0 ? -errno : 0;
}

int bh_kill(pid_t pid, int sig) {
    if (pid <= 1) return -EINVAL;
    return kill(pid, sig) < 0 ? -errno : 0;
}

int bh_set_thread_nice(int nice_value) {
    // Linux applies PRIO_PROCESS to a single thread when given its tid.
    pid_t tid = (pid_t)syscall(SYS_gettid);
    return setpriority(PRIO_PROCESS, (id_t)tid, nice_value) < 0 ? -errno : 0;
}

// struct sched_attr (sched_setattr(2)); glibc has no wrapper before 2.41.
struct bh_sched_attr {
    uint32_t size;
    uint32_t sched_policy;
    uint64_t sched_flags;
    int32_t sched_nice;
    uint32_t sched_priority;
    uint64_t sched_runtime;
    uint64_t sched_deadline;
    uint64_t sched_period;
};

int bh_set_thread_slice(uint64_t nanoseconds) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    struct bh_sched_attr attr;
    memset(&attr, 0, sizeof attr);
    if (syscall(SYS_sched_getattr, tid, &attr, sizeof attr, 0) < 0) return -errno;
    if (attr.sched_policy != SCHED_OTHER && attr.sched_policy != SCHED_BATCH) return -EINVAL;
    attr.size = sizeof attr;
    attr.sched_flags = 0;
    attr.sched_runtime = nanoseconds;   // the fair class's slice (Linux 6.12+; ignored before)
    return syscall(SYS_sched_setattr, tid, &attr, 0) < 0 ? -errno : 0;
}

int bh_thread_nice(void) {
    pid_t tid = (pid_t)syscall(SYS_gettid);
    errno = 0;   // -1 is a valid nice value: only errno tells a failure
    int value = getpriority(PRIO_PROCESS, (id_t)tid);
    return (value == -1 && errno != 0) ? INT_MIN : value;
}

int64_t bh_raise_fd_limit(void) {
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0) return -errno;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0) return -errno;
    }
    return (int64_t)rl.rlim_cur;
}

// PIDFD_GET_INFO (Linux 6.15): the kernel keeps a process's exit status for any pidfd holder
// once the process has been reaped by its parent, so bulkhead can learn how an adopted process
// (not its child) ended. Declared here: the build machine's headers may predate it.
struct bh_pidfd_info {
    uint64_t mask;
    uint64_t cgroupid;
    uint32_t pid, tgid, ppid, ruid, rgid, euid, egid, suid, sgid, fsuid, fsgid;
    int32_t exit_code;
    uint32_t coredump_mask;
    uint32_t spare1;
};
#define BH_PIDFD_GET_INFO _IOWR(0xFF, 11, struct bh_pidfd_info)
#define BH_PIDFD_INFO_EXIT (1UL << 3)

int bh_pidfd_exit_status(int pidfd, bh_exit *out) {
    struct bh_pidfd_info info;
    memset(&info, 0, sizeof info);
    info.mask = BH_PIDFD_INFO_EXIT;
    if (ioctl(pidfd, BH_PIDFD_GET_INFO, &info) < 0) return -errno;
    if (!(info.mask & BH_PIDFD_INFO_EXIT)) return 0;
    struct rusage none;
    memset(&none, 0, sizeof none);
    fill_exit((pid_t)info.pid, info.exit_code, &none, out);
    return 1;
}

int bh_set_cloexec(int fd, int on) {
    int flags = fcntl(fd, F_GETFD);
    if (flags < 0) return -errno;
    flags = on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC);
    return fcntl(fd, F_SETFD, flags) < 0 ? -errno : 0;
}

int bh_exec(const char *path, char *const *argv, char *const *envp) {
    execve(path, argv, envp);
    return -errno;
}
