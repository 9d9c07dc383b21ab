import Glibc

/// Deaths that are not standard-library checks: abort(), the runtime's exclusivity and
/// unowned checks (both abort, so SIGABRT), real memory faults (SIGSEGV), a real SIGFPE and a
/// glibc heap check (SIGABRT with the C library's message).
enum MemoryFaults {
    @inline(never)
    static func abort() -> Never {
        DyingStamp.now()
        Glibc.abort()
    }

    /// A class property modified through `inout` while a closure reads and writes it again:
    /// the accesses overlap dynamically, which the compiler cannot prove statically for a class.
    @inline(never)
    static func exclusivityViolation() {
        let cell = Opaque.value(Cell())
        DyingStamp.now()
        modify(&cell.value) { cell.value += 1 }
        Opaque.consume(cell)
    }

    @inline(never)
    private static func modify(_ value: inout Int, while body: () -> Void) {
        body()
        value += 1
    }

    @inline(never)
    static func unownedReadAfterFree() {
        var strong: Cell? = Opaque.value(Cell())
        unowned let dangling = Opaque.value(strong!)
        strong = nil
        Opaque.consume(strong)
        DyingStamp.now()
        Opaque.consume(dangling.value)
    }

    /// A store through address 0. The pointer is loaded from the bytes of an integer zero: the
    /// pointer initialisers refuse 0 and would make this an unwrap trap instead.
    @inline(never)
    static func nullDereference() {
        let null = withUnsafeBytes(of: Opaque.value(0)) { $0.load(as: UnsafeMutablePointer<Int>.self) }
        DyingStamp.now()
        null.pointee = 42
    }

    /// A store through a canonical but unmapped user-space address far from any mapping (the
    /// executable and heap sit near 0x55…, libraries and stacks near 0x7f…). A non-canonical
    /// address would not do: the CPU reports those as a general protection fault, and the
    /// kernel then gives the handler a fault address of 0.
    @inline(never)
    static func wildPointerStore() {
        let wild = withUnsafeBytes(of: Opaque.value(0x0000_2bad_dead_b000)) { $0.load(as: UnsafeMutablePointer<Int>.self) }
        DyingStamp.now()
        wild.pointee = 42
    }

    /// A real SIGFPE. Swift checks its own division before dividing (a trap, SIGILL), so the
    /// division is glibc's `div()`, whose `idiv` faults on a zero divisor.
    @inline(never)
    static func libcDivideByZero() {
        let (numerator, denominator) = (Opaque.value(Int32(42)), Opaque.value(Int32(0)))
        DyingStamp.now()
        Opaque.consume(Glibc.div(numerator, denominator))
    }

    /// glibc notices the second free of the same chunk, prints `free(): double free detected in
    /// tcache 2` and aborts: a C library message before a SIGABRT.
    @inline(never)
    static func doubleFree() {
        let block = Opaque.value(malloc(32))
        free(block)
        DyingStamp.now()
        free(Opaque.value(block))
    }

    @inline(never)
    static func stackOverflow() {
        DyingStamp.now()
        Opaque.consume(recurse(Opaque.value(0)))
    }

    /// Unoptimised so it is neither turned into a loop nor assumed to terminate. The exit the
    /// compiler cannot rule out (depth never goes negative) keeps it from warning.
    @inline(never) @_optimize(none)
    private static func recurse(_ depth: Int) -> Int {
        if Opaque.value(depth) < 0 { return 0 }
        return recurse(depth + 1) + 1
    }

    private final class Cell {
        var value = 0
    }
}
