import BulkheadForensics

/// `err("panic: boom", "", "goroutine 1 [running]:")`: stderr lines for a test.
func err(_ lines: String...) -> [OutputLine] {
    lines.map { OutputLine(.stderr, $0) }
}

func out(_ lines: String...) -> [OutputLine] {
    lines.map { OutputLine(.stdout, $0) }
}

/// A block of text as stderr lines (`"""` literals in tests).
func stderrBlock(_ text: String) -> [OutputLine] {
    text.split(separator: "\n", omittingEmptySubsequences: false).map { OutputLine(.stderr, String($0)) }
}

/// What the daemon would hand over (DeathScene.blockHead + DeathScene.output) with the window
/// the report recommends: from the last line `CrashBlockMarkers.isBlockStart` marked, at most
/// `headLines`, followed by the last `tailLines` lines; just the tail when it holds the start.
func daemonWindow(_ lines: [OutputLine], headLines: Int = 256, tailLines: Int = 256) -> [OutputLine] {
    var start: Int?
    for (index, line) in lines.enumerated() {
        var bytes = Array(line.text.utf8)
        let marked = bytes.withUnsafeMutableBytes { CrashBlockMarkers.isBlockStart(UnsafeRawBufferPointer($0)) }
        if marked { start = index }
    }
    let tailStart = max(0, lines.count - tailLines)
    guard let start, start < tailStart else { return Array(lines[tailStart...]) }
    let head = lines[start..<min(start + headLines, tailStart)]
    return Array(head) + Array(lines[tailStart...])
}
