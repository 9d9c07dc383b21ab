/* A C worker that dies of SIGSEGV, for the recordings in this directory
 * (scripts/record-swift-crashes builds it with `cc -O0 -g`). No Swift runtime, so no
 * backtracer: what explains its death is the signal, its last output line and the kernel's
 * `segfault at` line in /dev/kmsg. `segfault null` stores through address 0, `segfault wild`
 * through a canonical but unmapped high address. */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static void store(volatile int *where) {
    *where = 42;
}

int main(int argc, char **argv) {
    const char *how = argc > 1 ? argv[1] : "null";
    fprintf(stderr, "segfault: storing through a %s pointer\n", how);
    uintptr_t address = strcmp(how, "wild") == 0 ? (uintptr_t)0x00002baddeadb000ull : 0;
    store((volatile int *)address);
    return 0;
}
