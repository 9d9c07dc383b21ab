/// One stream's lines out of the interleaved window, in order, each with its index in the
/// window. A runtime writes its crash block on one stream, and lines of the other stream may
/// fall between its lines in the order the daemon read them, so recognisers read one stream.
struct StreamLines {
    let stream: OutputLine.Stream
    let text: [String]
    /// `position[i]`: the index of `text[i]` in the lines given to `recognise`.
    let position: [Int]

    init(_ lines: [OutputLine], stream: OutputLine.Stream) {
        self.stream = stream
        var text: [String] = []
        var position: [Int] = []
        for (index, line) in lines.enumerated() where line.stream == stream {
            text.append(line.text)
            position.append(index)
        }
        self.text = text
        self.position = position
    }

    /// For tests and callers that already hold one stream.
    init(_ text: [String], stream: OutputLine.Stream = .stderr) {
        self.stream = stream
        self.text = text
        self.position = Array(text.indices)
    }

    var count: Int { text.count }
    var isEmpty: Bool { text.isEmpty }

    subscript(index: Int) -> String { text[index] }

    /// The line at `index`, or nil past either end: parsers look ahead without bounds checks.
    func line(_ index: Int) -> String? {
        index >= 0 && index < text.count ? text[index] : nil
    }

    /// The index of the last line at or before `from` that satisfies `test`, looking at no more
    /// than `limit` lines.
    func lastIndex(before from: Int, limit: Int = .max, where test: (String) -> Bool) -> Int? {
        var index = min(from, text.count - 1)
        var looked = 0
        while index >= 0 && looked < limit {
            if test(text[index]) { return index }
            index -= 1
            looked += 1
        }
        return nil
    }

    /// The first index at or after `from` whose line is not blank.
    func nextNonBlank(from: Int) -> Int? {
        var index = max(0, from)
        while index < text.count {
            if !text[index].isBlank { return index }
            index += 1
        }
        return nil
    }
}
