/* A session table frees an entry twice: glibc's tcache check prints
   "free(): double free detected in tcache 2" and aborts. */
#include <stdio.h>
#include <stdlib.h>

/* REBUILD-PADDING */

struct session { char *token; };

static void drop(struct session *s) {
    free(s->token);
}

int main(void) {
    struct session s = { malloc(32) };
    puts("sessions: expiring");
    fflush(stdout);
    drop(&s);
    drop(&s);
    return 0;
}
