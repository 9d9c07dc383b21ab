// tinyworker: the smallest possible worker, in C, for benchmarks (no Swift runtime start-up in
// the figures). Modes:
//   tinyworker sleep            wait forever (pause)
//   tinyworker exit CODE        exit at once with CODE
//   tinyworker exit-after MS CODE
//   tinyworker segv-after MS       a null dereference after MS (a crash, class `crash`)
//   tinyworker flood N [BYTES]  write N lines of BYTES (default 32) to stdout, then print on
//                               stderr how long the longest single write() blocked, and exit 0
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000ll + ts.tv_nsec;
}

// The line counter is kept as decimal digits and incremented in place: the load generator must
// cost far less than what it measures (snprintf per line would be the bottleneck).
static int flush_buffer(const char *buffer, size_t used, long long *longest) {
    long long start = now_ns();
    size_t off = 0;
    while (off < used) {
        ssize_t w = write(1, buffer + off, used - off);
        if (w < 0) return 1;
        off += (size_t)w;
    }
    long long took = now_ns() - start;
    if (took > *longest) *longest = took;
    return 0;
}

static int flood(long long lines, int bytes) {
    if (bytes < 12) bytes = 12;
    if (bytes > 200) bytes = 200;
    enum { BUFFER = 64 * 1024, DIGITS = 10 };
    static char buffer[BUFFER];
    char line[256];
    memset(line, '.', sizeof line);
    memset(line, '0', DIGITS);
    line[bytes - 1] = '\n';
    long long written = 0, longest = 0;
    size_t used = 0;
    while (written < lines) {
        for (int i = DIGITS - 1; i >= 0; i--) {   // counter + 1
            if (line[i] == '9') { line[i] = '0'; continue; }
            line[i]++;
            break;
        }
        if (used + (size_t)bytes > BUFFER) {
            if (flush_buffer(buffer, used, &longest)) return 1;
            used = 0;
        }
        memcpy(buffer + used, line, (size_t)bytes);
        used += (size_t)bytes;
        written++;
    }
    if (flush_buffer(buffer, used, &longest)) return 1;
    fprintf(stderr, "tinyworker: wrote %lld lines; longest write blocked %lld us\n", written, longest / 1000);
    return 0;
}

int main(int argc, char **argv) {
    const char *mode = argc > 1 ? argv[1] : "sleep";
    if (strcmp(mode, "sleep") == 0) {
        for (;;) pause();
    }
    if (strcmp(mode, "exit") == 0) return argc > 2 ? atoi(argv[2]) : 0;
    if (strcmp(mode, "exit-after") == 0) {
        long ms = argc > 2 ? atol(argv[2]) : 0;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        return argc > 3 ? atoi(argv[3]) : 0;
    }
    if (strcmp(mode, "segv-after") == 0) {
        long ms = argc > 2 ? atol(argv[2]) : 0;
        struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };
        nanosleep(&ts, NULL);
        volatile int *nowhere = NULL;
        return *nowhere;
    }
    if (strcmp(mode, "flood") == 0) {
        return flood(argc > 2 ? atoll(argv[2]) : 1000000, argc > 3 ? atoi(argv[3]) : 32);
    }
    fprintf(stderr, "usage: tinyworker sleep | exit CODE | exit-after MS CODE | segv-after MS | flood N [BYTES]\n");
    return 64;
}
