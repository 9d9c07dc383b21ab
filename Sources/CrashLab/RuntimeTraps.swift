/// The traps the standard library's own checks raise (each a `ud2`, so SIGILL on x86_64).
/// Each stamps the breadcrumb ring's dying time right before the faulting operation.
enum RuntimeTraps {
    @inline(never)
    static func fatalError(_ message: String) -> Never {
        DyingStamp.now()
        Swift.fatalError(message)
    }

    @inline(never)
    static func precondition(_ message: String) {
        DyingStamp.now()
        Swift.precondition(Opaque.value(false), message)
    }

    /// Traps only in debug builds: `assert` is compiled out with -O.
    @inline(never)
    static func assert(_ message: String) {
        DyingStamp.now()
        Swift.assert(Opaque.value(false), message)
    }

    @inline(never)
    static func forceUnwrap() {
        let missing: Int? = Opaque.value(nil)
        DyingStamp.now()
        Opaque.consume(missing!)
    }

    @inline(never)
    static func implicitlyUnwrappedNil() {
        let missing: Int! = Opaque.value(nil)
        DyingStamp.now()
        let unwrapped: Int = missing
        Opaque.consume(unwrapped)
    }

    @inline(never)
    static func indexOutOfRange() {
        let numbers = Opaque.value([1, 2, 3])
        DyingStamp.now()
        Opaque.consume(numbers[Opaque.value(3)])
    }

    @inline(never)
    static func duplicateDictionaryKey() {
        let key = Opaque.value("order-42")
        DyingStamp.now()
        Opaque.consume(Dictionary(uniqueKeysWithValues: [(key, 1), (key, 2)]))
    }

    @inline(never)
    static func overflowAdd() {
        let (a, b) = (Opaque.value(Int.max), Opaque.value(1))
        DyingStamp.now()
        Opaque.consume(a + b)
    }

    @inline(never)
    static func overflowSub() {
        let (a, b) = (Opaque.value(Int.min), Opaque.value(1))
        DyingStamp.now()
        Opaque.consume(a - b)
    }

    @inline(never)
    static func overflowMul() {
        let (a, b) = (Opaque.value(Int.max), Opaque.value(2))
        DyingStamp.now()
        Opaque.consume(a * b)
    }

    @inline(never)
    static func divideByZero() {
        let (a, b) = (Opaque.value(42), Opaque.value(0))
        DyingStamp.now()
        Opaque.consume(a / b)
    }

    @inline(never)
    static func nanToInt() {
        let nan = Opaque.value(Double.nan)
        DyingStamp.now()
        Opaque.consume(Int(nan))
    }

    @inline(never)
    static func negativeToUInt() {
        let negative = Opaque.value(-1)
        DyingStamp.now()
        Opaque.consume(UInt(negative))
    }

    @inline(never)
    static func badRange() {
        let (lower, upper) = (Opaque.value(5), Opaque.value(1))
        DyingStamp.now()
        Opaque.consume(lower..<upper)
    }
}
