#ifndef BULKHEAD_CSYSTEMD_SHIM_H
#define BULKHEAD_CSYSTEMD_SHIM_H
// Only the non-variadic entry points are usable from Swift (sd_journal_sendv, sd_notify, …).
#include <systemd/sd-daemon.h>
#include <systemd/sd-journal.h>
#endif
