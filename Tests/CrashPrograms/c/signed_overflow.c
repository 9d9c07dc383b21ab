/* Adds past INT_MAX; built with -fsanitize=undefined, UBSan prints a "runtime error:" line
   and the program goes on (the sanitizer's default recover mode), then exits 3 on its own. */
#include <limits.h>
#include <stdio.h>

/* REBUILD-PADDING */

static int next_ticket(int last) {
    return last + 1;
}

int main(void) {
    puts("tickets: issuing");
    fflush(stdout);
    int ticket = next_ticket(INT_MAX);
    printf("ticket %d\n", ticket);
    return 3;
}
