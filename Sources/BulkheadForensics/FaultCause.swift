/// What a fault says went wrong, from a Swift backtrace or the kernel's line: for a SIGSEGV, what
/// its address says (stack overflow, null pointer, stray pointer); for a CPU trap, its name.
struct FaultCause: Equatable, Sendable {
    /// `stack overflow`, `null pointer dereference`, `invalid memory access`: the `crash_kind`.
    var kind: String
    /// For the headline: `invalid memory access at 0x2baddeadb000`.
    var words: String

    /// Addresses below this can never be mapped (Linux's default `vm.mmap_min_addr`, 64 KiB), so
    /// a fault there is a null pointer plus a field offset, not a stray pointer.
    static let nullPageLimit: UInt64 = 0x10000

    /// How close to the stack pointer a fault must be to be the stack's guard page. A frame
    /// writes within a few KiB of it; no mapping other than the stack sits there; and the
    /// address of a real stack overflow was 0–8 bytes below it in every recording.
    static let stackReach: UInt64 = 0x10000

    /// - Parameters:
    ///   - address: the fault address, when known.
    ///   - stackPointer: the faulting thread's stack pointer, when known.
    ///   - nonCanonical: the kernel called it a general protection fault, so the address the
    ///     process was given (0) is not the one it used.
    ///   - deepRecursion: the backtrace is thousands of frames deep.
    static func of(address: UInt64?, stackPointer: UInt64?, nonCanonical: Bool, deepRecursion: Bool) -> FaultCause {
        if deepRecursion || isNearStack(address, stackPointer) {
            return FaultCause(kind: "stack overflow", words: "stack overflow")
        }
        if nonCanonical {
            return FaultCause(kind: "invalid memory access", words: "invalid memory access (a non-canonical address)")
        }
        guard let address else {
            return FaultCause(kind: "invalid memory access", words: "invalid memory access")
        }
        if address < nullPageLimit {
            return FaultCause(kind: "null pointer dereference", words: "null pointer dereference")
        }
        return FaultCause(kind: "invalid memory access", words: "invalid memory access at " + hex(address))
    }

    private static func isNearStack(_ address: UInt64?, _ stackPointer: UInt64?) -> Bool {
        guard let address, let stackPointer, address >= nullPageLimit else { return false }
        let distance = address > stackPointer ? address - stackPointer : stackPointer - address
        return distance <= stackReach
    }

    /// `0x2baddeadb000` (no leading zeros).
    static func hex(_ value: UInt64) -> String {
        "0x" + String(value, radix: 16)
    }
}
