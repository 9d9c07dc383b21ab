@testable import Supervisor
import Testing

/// `LineRing`: the per-instance tail, bounded by lines and by bytes.
@Suite struct LineRingTests {
    static func append(_ ring: inout LineRing, _ text: String, _ stream: OutputStream = .stdout, wall: Int64 = 0) {
        var text = text
        text.withUTF8 { ring.append(UnsafeRawBufferPointer($0), stream: stream, wallNanoseconds: wall) }
    }

    @Test func anEmptyRingHasNoLines() {
        let ring = LineRing(maxLines: 4, maxBytes: 4096)
        #expect(ring.count == 0)
        #expect(ring.lines(last: 10).isEmpty)
        #expect(ring.lines(after: 0).isEmpty)
    }

    @Test func boundedByLineCountKeepingTheNewest() {
        var ring = LineRing(maxLines: 3, maxBytes: 4096)
        for i in 0..<5 { Self.append(&ring, "line \(i)", wall: Int64(i)) }
        #expect(ring.count == 3)
        #expect(ring.lines(last: 10).map(\.text) == ["line 2", "line 3", "line 4"])
        #expect(ring.lines(last: 10).map(\.wallNanoseconds) == [2, 3, 4])
        #expect(ring.lines(last: 2).map(\.text) == ["line 3", "line 4"])
        #expect(ring.totalAppended == 5)
    }

    @Test func boundedByBytesKeepingTheNewest() {
        // 1024 bytes (the smallest ring), lines of 200 bytes: at most five fit.
        var ring = LineRing(maxLines: 100, maxBytes: 1024)
        for i in 0..<12 { Self.append(&ring, String(repeating: Character(String(i % 10)), count: 200)) }
        let lines = ring.lines(last: 100)
        #expect(lines.count >= 1 && lines.count <= 5)
        #expect(lines.reduce(0) { $0 + $1.text.utf8.count } <= 1024)
        let expected = (12 - lines.count..<12).map { String(repeating: Character(String($0 % 10)), count: 200) }
        #expect(lines.map(\.text) == expected)
    }

    @Test func aLineLongerThanAQuarterOfTheRingIsCut() {
        var ring = LineRing(maxLines: 10, maxBytes: 1024)
        Self.append(&ring, String(repeating: "x", count: 5000))
        #expect(ring.lines(last: 1).first?.text == String(repeating: "x", count: 256))
    }

    @Test func emptyLinesAreLinesToo() {
        var ring = LineRing(maxLines: 10, maxBytes: 1024)
        Self.append(&ring, "")
        Self.append(&ring, "a")
        Self.append(&ring, "")
        Self.append(&ring, "")
        Self.append(&ring, "b")
        #expect(ring.lines(last: 10).map(\.text) == ["", "a", "", "", "b"])
        // The backtracer's stderr shape: a blank line leads.
        ring.removeAll()
        for line in ["", "*** Signal 4: Backtracing from 0x56393d247b02... done ***", ""] { Self.append(&ring, line) }
        #expect(ring.lines(last: 10).map(\.text) == ["", "*** Signal 4: Backtracing from 0x56393d247b02... done ***", ""])
    }

    @Test func manyEmptyLinesAroundTheRing() {
        var ring = LineRing(maxLines: 2000, maxBytes: 1024)
        for i in 0..<5000 { Self.append(&ring, i % 3 == 0 ? "x\(i)" : "") }
        let lines = ring.lines(last: .max)
        let expected = (5000 - lines.count..<5000).map { $0 % 3 == 0 ? "x\($0)" : "" }
        #expect(lines.map(\.text) == expected)
        #expect(lines.count > 100)
    }

    @Test func streamsAreKeptApartOnRequest() {
        var ring = LineRing(maxLines: 10, maxBytes: 4096)
        Self.append(&ring, "out 1", .stdout)
        Self.append(&ring, "err 1", .stderr)
        Self.append(&ring, "out 2", .stdout)
        Self.append(&ring, "err 2", .stderr)
        #expect(ring.lines(last: 10, stream: .stderr).map(\.text) == ["err 1", "err 2"])
        #expect(ring.lines(last: 1, stream: .stdout).map(\.text) == ["out 2"])
        #expect(ring.lines(last: 10).map(\.stream) == [.stdout, .stderr, .stdout, .stderr])
    }

    @Test func cursorsReturnOnlyWhatCameAfter() {
        var ring = LineRing(maxLines: 4, maxBytes: 4096)
        Self.append(&ring, "a")
        Self.append(&ring, "b")
        let seen = ring.totalAppended
        #expect(ring.lines(after: seen).isEmpty)
        Self.append(&ring, "c")
        #expect(ring.lines(after: seen).map(\.text) == ["c"])
        // More arrived than the ring keeps: what is left of it.
        for i in 0..<10 { Self.append(&ring, "n\(i)") }
        #expect(ring.lines(after: seen).map(\.text) == ["n6", "n7", "n8", "n9"])
        // A cursor from the future (or a stale one after a restart) returns nothing.
        #expect(ring.lines(after: ring.totalAppended + 5).isEmpty)
    }

    @Test func removeAllEmptiesButKeepsTheCursor() {
        var ring = LineRing(maxLines: 4, maxBytes: 4096)
        Self.append(&ring, "a")
        Self.append(&ring, "b")
        ring.removeAll()
        #expect(ring.count == 0)
        #expect(ring.lines(last: 10).isEmpty)
        #expect(ring.totalAppended == 2)
        Self.append(&ring, "c")
        #expect(ring.lines(last: 10).map(\.text) == ["c"])
        #expect(ring.lines(after: 2).map(\.text) == ["c"])
    }

    /// Many laps of mixed lengths, against the plain model: the ring holds a suffix of what was
    /// appended, every line intact, within both bounds.
    @Test(arguments: [(7, 1024), (64, 1024), (1000, 4096), (3, 65536)])
    func wrapsAroundWithoutCorruption(maxLines: Int, maxBytes: Int) {
        var ring = LineRing(maxLines: maxLines, maxBytes: maxBytes)
        var appended: [String] = []
        var generator = SplitMix64(seed: UInt64(maxLines * 31 + maxBytes))
        let cut = max(1024, maxBytes) / 4
        for i in 0..<3000 {
            let filler = generator.next() % 7 == 0 ? 0 : Int(generator.next() % 400)
            let text = filler == 0 ? "" : String(String("#\(i):" + String(repeating: "abcdefghij", count: filler / 10 + 1)).utf8.prefix(filler))!
            Self.append(&ring, text, i % 3 == 0 ? .stderr : .stdout, wall: Int64(i))
            appended.append(String(String(text.utf8.prefix(cut))!))
            if i % 97 == 0 || i == 2999 {
                let lines = ring.lines(last: .max)
                #expect(lines.count == ring.count)
                #expect(lines.count <= maxLines)
                #expect(lines.reduce(0) { $0 + $1.text.utf8.count } <= max(1024, maxBytes))
                #expect(lines.last?.text == appended.last)
                #expect(lines.map(\.text) == Array(appended.suffix(lines.count)), "after \(i + 1) lines")
                #expect(lines.map(\.wallNanoseconds) == (i + 1 - lines.count...i).map(Int64.init))
            }
        }
    }
}
