import Glibc

/// `--print`, `--eprint` and `--flood`: output whose every line a reader can account for.
enum Lines {
    static func writeOne(_ text: String, to stream: Stream, prefix: PriorityPrefix?) {
        var line = ""
        if case .fixed(let level) = prefix { line = "<\(level)>" }
        line += text
        line += "\n"
        Output.write(line, to: stream.fd)
    }

    /// Writes `flood.count` lines as fast as the reader takes them. Line i (1-based) is
    /// `flood I/N ` then dots up to `lineBytes` bytes including the newline (longer when the
    /// counter does not fit), so a reader can check that none was lost, reordered or torn.
    static func flood(_ flood: Flood, prefix: PriorityPrefix?) {
        guard flood.count > 0 else { return }
        let width = String(flood.count).count
        var buffer: [UInt8] = []
        buffer.reserveCapacity(64 * 1024 + flood.lineBytes + 64)
        for index in 1...flood.count {
            let start = buffer.count
            switch prefix {
            case .fixed(let level): append("<\(level)>", to: &buffer)
            case .cycle: append("<\(index % 8)>", to: &buffer)
            case nil: break
            }
            append("flood ", to: &buffer)
            appendPadded(index, width: width, to: &buffer)
            buffer.append(UInt8(ascii: "/"))
            append(String(flood.count), to: &buffer)
            buffer.append(UInt8(ascii: " "))
            while buffer.count - start < flood.lineBytes - 1 { buffer.append(UInt8(ascii: ".")) }
            buffer.append(UInt8(ascii: "\n"))
            if index == flood.pauseAt {
                let half = buffer.count - (buffer.count - start) / 2
                buffer[..<half].withUnsafeBufferPointer { Output.write($0, to: flood.stream.fd) }
                buffer.removeFirst(half)
                raise(SIGSTOP)
            }
            if buffer.count >= 64 * 1024 {
                buffer.withUnsafeBufferPointer { Output.write($0, to: flood.stream.fd) }
                buffer.removeAll(keepingCapacity: true)
            }
        }
        buffer.withUnsafeBufferPointer { Output.write($0, to: flood.stream.fd) }
    }

    private static func append(_ text: String, to buffer: inout [UInt8]) {
        buffer.append(contentsOf: text.utf8)
    }

    private static func appendPadded(_ number: Int, width: Int, to buffer: inout [UInt8]) {
        let digits = String(number)
        for _ in digits.count..<max(width, digits.count) { buffer.append(UInt8(ascii: "0")) }
        append(digits, to: &buffer)
    }
}
