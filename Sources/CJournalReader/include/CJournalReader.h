#ifndef BULKHEAD_CJOURNALREADER_H
#define BULKHEAD_CJOURNALREADER_H
// The journal-reading calls of libsystemd (sd-journal(3)), loaded with dlopen the first time
// `bulkhead logs` reads the journal. The CLI links no libsystemd: loading it and its six
// dependencies would cost every `bulkhead status` about a millisecond. The daemon, which writes
// to the journal, links it through CSystemd as usual.
#include <stddef.h>
#include <stdint.h>

typedef struct bh_journal bh_journal;   // sd_journal

// 0 once libsystemd.so.0 is loaded and every call below resolved; -1 when it is not there
// (then bh_journal_error() says why).
int bh_journal_load(void);
const char *bh_journal_error(void);

int bh_journal_open_local(bh_journal **journal);   // SD_JOURNAL_LOCAL_ONLY
void bh_journal_close(bh_journal *journal);
int bh_journal_set_data_threshold(bh_journal *journal, size_t size);
int bh_journal_has_runtime_files(bh_journal *journal);
int bh_journal_has_persistent_files(bh_journal *journal);
void bh_journal_flush_matches(bh_journal *journal);
int bh_journal_add_match(bh_journal *journal, const void *data, size_t size);
int bh_journal_seek_head(bh_journal *journal);
int bh_journal_seek_tail(bh_journal *journal);
int bh_journal_next(bh_journal *journal);
int bh_journal_previous(bh_journal *journal);
int bh_journal_get_data(bh_journal *journal, const char *field, const void **data, size_t *length);
int bh_journal_get_realtime_usec(bh_journal *journal, uint64_t *usec);
int bh_journal_wait(bh_journal *journal, uint64_t timeout_usec);

#endif
