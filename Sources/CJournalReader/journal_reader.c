#include "CJournalReader.h"

#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>

// sd-journal.h's value, fixed by the ABI.
#define BH_SD_JOURNAL_LOCAL_ONLY 1

static struct {
    int (*open)(bh_journal **, int);
    void (*close)(bh_journal *);
    int (*set_data_threshold)(bh_journal *, size_t);
    int (*has_runtime_files)(bh_journal *);
    int (*has_persistent_files)(bh_journal *);
    void (*flush_matches)(bh_journal *);
    int (*add_match)(bh_journal *, const void *, size_t);
    int (*seek_head)(bh_journal *);
    int (*seek_tail)(bh_journal *);
    int (*next)(bh_journal *);
    int (*previous)(bh_journal *);
    int (*get_data)(bh_journal *, const char *, const void **, size_t *);
    int (*get_realtime_usec)(bh_journal *, uint64_t *);
    int (*wait)(bh_journal *, uint64_t);
} api;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int loaded = -1;
static const char *problem = "not loaded";

#define RESOLVE(member, symbol)                          \
    do {                                                 \
        *(void **)&api.member = dlsym(library, symbol);  \
        if (!api.member) {                               \
            problem = "libsystemd.so.0 lacks " symbol;   \
            return;                                      \
        }                                                \
    } while (0)

static void load(void) {
    void *library = dlopen("libsystemd.so.0", RTLD_NOW | RTLD_LOCAL);
    if (!library) {
        problem = "libsystemd.so.0 is not installed";
        return;
    }
    RESOLVE(open, "sd_journal_open");
    RESOLVE(close, "sd_journal_close");
    RESOLVE(set_data_threshold, "sd_journal_set_data_threshold");
    RESOLVE(has_runtime_files, "sd_journal_has_runtime_files");
    RESOLVE(has_persistent_files, "sd_journal_has_persistent_files");
    RESOLVE(flush_matches, "sd_journal_flush_matches");
    RESOLVE(add_match, "sd_journal_add_match");
    RESOLVE(seek_head, "sd_journal_seek_head");
    RESOLVE(seek_tail, "sd_journal_seek_tail");
    RESOLVE(next, "sd_journal_next");
    RESOLVE(previous, "sd_journal_previous");
    RESOLVE(get_data, "sd_journal_get_data");
    RESOLVE(get_realtime_usec, "sd_journal_get_realtime_usec");
    RESOLVE(wait, "sd_journal_wait");
    loaded = 0;
    problem = "";
}

int bh_journal_load(void) {
    pthread_once(&once, load);
    return loaded;
}

const char *bh_journal_error(void) { return problem; }

// Every call below is reached only through a JournalLogReader, which exists only after
// bh_journal_load() returned 0.
int bh_journal_open_local(bh_journal **journal) { return api.open(journal, BH_SD_JOURNAL_LOCAL_ONLY); }
void bh_journal_close(bh_journal *journal) { api.close(journal); }
int bh_journal_set_data_threshold(bh_journal *journal, size_t size) { return api.set_data_threshold(journal, size); }
int bh_journal_has_runtime_files(bh_journal *journal) { return api.has_runtime_files(journal); }
int bh_journal_has_persistent_files(bh_journal *journal) { return api.has_persistent_files(journal); }
void bh_journal_flush_matches(bh_journal *journal) { api.flush_matches(journal); }
int bh_journal_add_match(bh_journal *journal, const void *data, size_t size) { return api.add_match(journal, data, size); }
int bh_journal_seek_head(bh_journal *journal) { return api.seek_head(journal); }
int bh_journal_seek_tail(bh_journal *journal) { return api.seek_tail(journal); }
int bh_journal_next(bh_journal *journal) { return api.next(journal); }
int bh_journal_previous(bh_journal *journal) { return api.previous(journal); }
int bh_journal_get_data(bh_journal *journal, const char *field, const void **data, size_t *length) {
    return api.get_data(journal, field, data, length);
}
int bh_journal_get_realtime_usec(bh_journal *journal, uint64_t *usec) { return api.get_realtime_usec(journal, usec); }
int bh_journal_wait(bh_journal *journal, uint64_t timeout_usec) { return api.wait(journal, timeout_usec); }
