/// Values the optimiser cannot see through, so a deliberate trap is neither folded into a
/// compile-time error nor removed as dead code: the compiler only learns at run time that
/// `Int.max + 1` is what gets computed.
enum Opaque {
    /// Returns its argument, behind a call the optimiser neither inlines nor looks into.
    @inline(never) @_optimize(none)
    static func value<T>(_ value: T) -> T { value }

    /// Marks a result as used.
    @inline(never) @_optimize(none)
    static func consume<T>(_ value: T) {}
}
