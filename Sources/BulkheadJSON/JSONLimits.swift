/// Bounds on what the parser accepts, so that hostile input costs bounded time and memory.
///
/// Every limit is checked as the input is read; parsing is linear in the input size whatever the
/// limits, and a parsed value takes at most about ten times the input size in memory (the worst
/// case being many tiny values such as `[[],[],…]`).
public struct JSONLimits: Equatable, Sendable {
    /// The deepest nesting of arrays and objects accepted: `[[1]]` has depth 2, a scalar 0.
    ///
    /// The parser itself does not recurse, but equality, the writer and deinitialisation of a
    /// value do, once per level; so the parser allows at most ``depthCeiling`` whatever this says.
    public var maxDepth: Int
    /// The longest input accepted, in bytes.
    public var maxInputBytes: Int
    /// The longest string (key or value) accepted, in UTF-8 bytes after unescaping.
    public var maxStringBytes: Int
    /// The most values a document may hold, counting every scalar, array and object (keys are
    /// not counted).
    public var maxElements: Int
    /// The longest number accepted, in characters. RFC 8259 lets a parser bound numbers; this keeps
    /// decimal conversion cheap.
    public var maxNumberLength: Int

    /// Limits; the defaults suit protocol messages and status documents.
    public init(
        maxDepth: Int = 64,
        maxInputBytes: Int = 1 << 20,
        maxStringBytes: Int = 256 << 10,
        maxElements: Int = 250_000,
        maxNumberLength: Int = 256
    ) {
        self.maxDepth = maxDepth
        self.maxInputBytes = maxInputBytes
        self.maxStringBytes = maxStringBytes
        self.maxElements = maxElements
        self.maxNumberLength = maxNumberLength
    }

    /// Depth 64, 1 MiB of input, 256 KiB strings, 250 000 values, 256-character numbers.
    public static let `default` = JSONLimits()

    /// For large files such as Swift runtime backtrace reports (a stack overflow report holds
    /// ~58 000 frames, about a million values, and runs to tens of MB): depth 64, 64 MiB of
    /// input, 1 MiB strings, 2 000 000 values. At most a few hundred MB of memory, bounded by
    /// the value count and the input size.
    public static let largeDocument = JSONLimits(
        maxDepth: 64,
        maxInputBytes: 64 << 20,
        maxStringBytes: 1 << 20,
        maxElements: 2_000_000
    )

    /// The most nesting the parser accepts whatever ``maxDepth`` says.
    ///
    /// Equality, the writer and deinitialisation recurse once per level. Measured on x86-64 they
    /// take about 200 bytes of stack a level in release builds and up to 900 in debug builds, so
    /// 256 levels stay inside even a 512 KiB thread stack.
    public static let depthCeiling = 256
}
