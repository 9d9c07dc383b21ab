/* Reads a buffer after freeing it; built with -fsanitize=address, AddressSanitizer reports
   heap-use-after-free with the access, free and allocation stacks, and exits 1. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* REBUILD-PADDING */

static char *make_greeting(const char *name) {
    char *buffer = malloc(64);
    snprintf(buffer, 64, "hello, %s", name);
    return buffer;
}

static int greeting_length(char *greeting) {
    free(greeting);
    return (int)strlen(greeting);
}

int main(void) {
    puts("greeter: starting");
    fflush(stdout);
    printf("%d\n", greeting_length(make_greeting("world")));
    return 0;
}
