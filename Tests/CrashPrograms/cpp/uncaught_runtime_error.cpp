// A ledger verifier throws std::runtime_error and nothing catches it: libstdc++'s terminate
// handler prints the type and what(), then abort() raises SIGABRT.
#include <cstdio>
#include <stdexcept>
#include <string>

// REBUILD-PADDING

static void verify(unsigned expected, unsigned actual) {
    if (expected != actual)
        throw std::runtime_error("ledger checksum mismatch: expected " + std::to_string(expected) +
                                 " got " + std::to_string(actual));
}

int main() {
    std::puts("ledger: verifying");
    std::fflush(stdout);
    verify(0x5eed, 0xbad);
}
