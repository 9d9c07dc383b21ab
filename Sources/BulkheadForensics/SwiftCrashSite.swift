/// Where in the program's own code a Swift backtrace says it died.
enum SwiftCrashSite {
    /// The innermost frame of the program's own code (`SwiftFrameRoles.isOwn`) with its index,
    /// the name corrected where the optimiser is known to mislead:
    /// - a merged function (`…Tm`, release `force-unwrap` and `iuo-nil` share one body) carries
    ///   the name of whichever function the compiler kept; the inlined frame after it, at the
    ///   call site, names the one that was called. Merged bodies keep no line.
    /// Identical code the optimiser folded into one copy is not corrected: the frames cannot
    /// tell which twin ran (release `trap-in-detached-task` runs, and names, the body of
    /// `trapInTaskGroup`'s closure, ConcurrencyTraps.swift:20). The twins have the same code, so
    /// sharing a fingerprint is no great loss.
    static func innermost(_ frames: [SwiftBacktrace.Frame]) -> (site: CrashSite, index: Int)? {
        guard let index = frames.firstIndex(where: SwiftFrameRoles.isOwn) else { return nil }
        let frame = frames[index]
        var site = site(of: frame)
        let next = index + 1 < frames.count ? frames[index + 1] : nil
        if SwiftFrameRoles.isMerged(frame) {
            site.file = nil
            site.line = nil
            if let next, next.inlined, let module = SwiftFrameRoles.swiftModule(next.symbol),
               !SwiftFrameRoles.toolchainModules.contains(module) {
                site.function = FunctionName.readable(next.function)
            }
        }
        return (site, index)
    }

    /// The function that recursed, for a stack overflow: the one most frames belong to, at the
    /// line most of them are on (the recursive call). The innermost frame is where the stack ran
    /// out, which moves with the stack's size; the recursion does not. Nil when no function
    /// repeats.
    static func recursion(_ frames: [SwiftBacktrace.Frame]) -> CrashSite? {
        // Names in order of first appearance, with their counts: the innermost wins a tie.
        var tally: [(name: String, count: Int)] = []
        for frame in frames where SwiftFrameRoles.isOwn(frame) {
            let name = FunctionName.readable(frame.function)
            if let at = tally.firstIndex(where: { $0.name == name }) {
                tally[at].count += 1
            } else {
                tally.append((name, 1))
            }
        }
        guard let top = tally.max(by: { $0.count < $1.count }), top.count >= 2 else { return nil }
        var lines: [(line: Int, count: Int)] = []
        var file: String?
        for frame in frames where SwiftFrameRoles.isOwn(frame) && FunctionName.readable(frame.function) == top.name {
            guard let line = frame.line else { continue }
            if let at = lines.firstIndex(where: { $0.line == line }) {
                lines[at].count += 1
            } else {
                lines.append((line, 1))
            }
            file = file ?? frame.fileName
        }
        // The most frequent line; on a tie the smaller, so the choice does not depend on order.
        let line = lines.max { ($0.count, -$0.line) < ($1.count, -$1.line) }?.line
        return CrashSite(function: top.name, file: line == nil ? nil : file, line: line)
    }

    /// How many frames the function repeating most often has, over the frames listed.
    static func deepestRepeat(_ frames: [SwiftBacktrace.Frame]) -> Int {
        var counts: [String: Int] = [:]
        for frame in frames where SwiftFrameRoles.isOwn(frame) { counts[frame.function, default: 0] += 1 }
        return counts.values.max() ?? 0
    }

    static func site(of frame: SwiftBacktrace.Frame) -> CrashSite {
        // Line 0 is code the compiler made up; its file is then often the caller's, not the
        // function's (release inlined frames say `Death.swift:0` for `MemoryFaults` code).
        CrashSite(function: FunctionName.readable(frame.function), file: frame.line == nil ? nil : frame.fileName,
                  line: frame.line)
    }
}
