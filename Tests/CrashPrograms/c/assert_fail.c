/* An invariant check fails: glibc's assert prints "prog: file.c:N: func: Assertion `…' failed."
   and aborts. */
#include <assert.h>
#include <stdio.h>

/* REBUILD-PADDING */

static long settle(long balance, long amount) {
    assert(balance >= amount && "overdraft");
    return balance - amount;
}

int main(void) {
    puts("settle: running");
    fflush(stdout);
    printf("%ld\n", settle(100, 250));
    return 0;
}
