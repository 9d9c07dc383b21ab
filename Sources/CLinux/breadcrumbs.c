// The breadcrumb ring: written lock-free by a worker (any thread), read by bulkhead after the
// worker has died. The memory is a memfd bulkhead created, so the entries outlive a trap.
#define _GNU_SOURCE
#include "CLinux.h"
#include <string.h>

size_t bh_crumb_region_size(uint32_t capacity) {
    return sizeof(bh_crumb_header) + (size_t)capacity * sizeof(bh_crumb_slot);
}

void bh_crumb_init(void *region, uint32_t capacity) {
    memset(region, 0, bh_crumb_region_size(capacity));
    bh_crumb_header *header = region;
    header->capacity = capacity;
    __atomic_store_n(&header->magic, BH_CRUMB_MAGIC, __ATOMIC_RELEASE);
}

// bulkhead hands over a zero-filled memfd and never touches its pages (they would count in its
// own memory); the first write formats the header. Concurrent first writers store the same
// capacity, then race harmlessly to set the magic.
static void attach_if_blank(void *region, size_t region_size) {
    bh_crumb_header *header = region;
    if (__atomic_load_n(&header->magic, __ATOMIC_ACQUIRE) != 0) return;
    size_t fits = (region_size - sizeof(bh_crumb_header)) / sizeof(bh_crumb_slot);
    if (fits == 0) return;
    if (fits > 4096) fits = 4096;
    __atomic_store_n(&header->capacity, (uint32_t)fits, __ATOMIC_RELAXED);
    uint32_t blank = 0;
    __atomic_compare_exchange_n(&header->magic, &blank, BH_CRUMB_MAGIC, 0, __ATOMIC_RELEASE, __ATOMIC_RELAXED);
}

static int usable(const void *region, size_t region_size, uint32_t *capacity) {
    if (!region || region_size < sizeof(bh_crumb_header)) return 0;
    const bh_crumb_header *header = region;
    if (__atomic_load_n(&header->magic, __ATOMIC_ACQUIRE) != BH_CRUMB_MAGIC) return 0;
    uint32_t cap = header->capacity;
    size_t fits = (region_size - sizeof(bh_crumb_header)) / sizeof(bh_crumb_slot);
    if (cap == 0 || cap > fits) return 0;
    *capacity = cap;
    return 1;
}

int bh_crumb_write(void *region, size_t region_size, int64_t realtime_ns, const char *text, size_t length) {
    uint32_t capacity;
    if (region && region_size >= sizeof(bh_crumb_header)) attach_if_blank(region, region_size);
    if (!usable(region, region_size, &capacity)) return -1;
    bh_crumb_header *header = region;
    bh_crumb_slot *slots = (bh_crumb_slot *)(header + 1);
    uint64_t claim = __atomic_fetch_add(&header->next, 1, __ATOMIC_RELAXED);
    bh_crumb_slot *slot = &slots[claim % capacity];
    __atomic_store_n(&slot->sequence, 2 * claim + 1, __ATOMIC_RELAXED);
    __atomic_thread_fence(__ATOMIC_RELEASE);
    if (length > BH_CRUMB_TEXT) length = BH_CRUMB_TEXT;
    slot->realtime_ns = realtime_ns;
    slot->length = (uint32_t)length;
    memcpy(slot->text, text, length);
    __atomic_store_n(&slot->sequence, 2 * claim + 2, __ATOMIC_RELEASE);
    return 0;
}

void bh_crumb_mark_dying(void *region, uint64_t monotonic_ns) {
    bh_crumb_header *header = region;
    if (!region) return;
    __atomic_store_n(&header->dying_ns, monotonic_ns, __ATOMIC_RELEASE);
}

int bh_crumb_read(const void *region, size_t region_size, bh_crumb_entry *out, int capacity_out) {
    uint32_t capacity;
    if (!usable(region, region_size, &capacity)) return 0;
    const bh_crumb_header *header = region;
    const bh_crumb_slot *slots = (const bh_crumb_slot *)(header + 1);
    uint64_t next = __atomic_load_n(&header->next, __ATOMIC_ACQUIRE);
    uint64_t first = next > capacity ? next - capacity : 0;
    // When the caller takes fewer than the ring holds, it gets the newest: they explain a death.
    if (capacity_out <= 0) return 0;
    if (next - first > (uint64_t)capacity_out) first = next - (uint64_t)capacity_out;
    int stored = 0;
    for (uint64_t claim = first; claim < next && stored < capacity_out; claim++) {
        const bh_crumb_slot *slot = &slots[claim % capacity];
        uint64_t before = __atomic_load_n(&slot->sequence, __ATOMIC_ACQUIRE);
        if (before != 2 * claim + 2) continue;   // torn, overwritten, or never finished
        bh_crumb_entry *entry = &out[stored];
        entry->claim = claim;
        entry->realtime_ns = slot->realtime_ns;
        uint32_t length = slot->length;
        if (length > BH_CRUMB_TEXT) length = BH_CRUMB_TEXT;
        entry->length = length;
        memcpy(entry->text, slot->text, length);
        __atomic_thread_fence(__ATOMIC_ACQUIRE);
        if (__atomic_load_n(&slot->sequence, __ATOMIC_RELAXED) != before) continue;
        stored++;
    }
    return stored;
}
