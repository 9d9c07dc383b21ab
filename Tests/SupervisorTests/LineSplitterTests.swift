@testable import Supervisor
import Testing

/// `LineSplitter`: a byte stream into lines, none longer than `maxLine`.
@Suite struct LineSplitterTests {
    /// Feeds `chunks` in order and returns every delivered line (and, with `flush`, the rest).
    static func split(_ chunks: [String], maxLine: Int, flush: Bool = false) -> [String] {
        var splitter = LineSplitter(maxLine: maxLine)
        var out: [String] = []
        for chunk in chunks {
            var chunk = chunk
            chunk.withUTF8 { bytes in
                splitter.feed(UnsafeRawBufferPointer(bytes)) { out.append(String(decoding: $0, as: UTF8.self)) }
            }
        }
        if flush { splitter.flush { out.append(String(decoding: $0, as: UTF8.self)) } }
        return out
    }

    @Test func completeLinesComeOutWithoutTheirNewline() {
        #expect(Self.split(["one\ntwo\n\nthree\n"], maxLine: 100) == ["one", "two", "", "three"])
    }

    @Test func aPartialLineIsJoinedAcrossChunks() {
        #expect(Self.split(["hel", "lo wo", "rld\nnext"], maxLine: 100) == ["hello world"])
        #expect(Self.split(["hel", "lo wo", "rld\nnext"], maxLine: 100, flush: true) == ["hello world", "next"])
        #expect(Self.split(["a", "\n"], maxLine: 100) == ["a"])
        #expect(Self.split(["\n", "\n"], maxLine: 100) == ["", ""])
    }

    @Test func aLongLineIsDeliveredInPiecesOfMaxLine() {
        #expect(Self.split(["0123456789ABCDEFGHIJ\n"], maxLine: 8) == ["01234567", "89ABCDEF", "GHIJ"])
        #expect(Self.split(["01234567\n"], maxLine: 8) == ["01234567"])
        #expect(Self.split(["0123456789ABCDEF\n"], maxLine: 8) == ["01234567", "89ABCDEF"])
    }

    @Test func aLongLineAcrossChunksIsCutTheSameWay() {
        #expect(Self.split(["0123", "4567", "89AB", "CDEF", "GHIJ\n"], maxLine: 8) == ["01234567", "89ABCDEF", "GHIJ"])
        #expect(Self.split(["01234567", "8\n"], maxLine: 8) == ["01234567", "8"])
        #expect(Self.split(["0123456789"], maxLine: 8, flush: true) == ["01234567", "89"])
    }

    @Test func nothingIsBufferedBeyondMaxLine() {
        var splitter = LineSplitter(maxLine: 16)
        var delivered = 0
        let chunk = [UInt8](repeating: UInt8(ascii: "z"), count: 1000)
        chunk.withUnsafeBytes { bytes in
            for _ in 0..<100 { splitter.feed(bytes) { delivered += $0.count } }
        }
        // 100 000 bytes without a newline: all but the last piece (at most 16 bytes) delivered.
        #expect(delivered >= 100_000 - 16 && delivered < 100_000)
        #expect(splitter.hasPartial)
        splitter.flush { delivered += $0.count }
        #expect(delivered == 100_000)
        #expect(!splitter.hasPartial)
    }

    @Test func flushWithNothingPendingDeliversNothing() {
        #expect(Self.split(["done\n"], maxLine: 8, flush: true) == ["done"])
        #expect(Self.split([], maxLine: 8, flush: true) == [])
        #expect(Self.split([""], maxLine: 8, flush: true) == [])
    }

    @Test func arbitraryChunkingGivesTheSameLines() {
        var generator = SplitMix64(seed: 42)
        var text = ""
        for i in 0..<300 {
            text += String(repeating: "w", count: Int(generator.next() % 40)) + "\(i)"
            text += generator.next() % 5 == 0 ? "" : "\n"
        }
        let whole = Self.split([text], maxLine: 24, flush: true)
        for _ in 0..<20 {
            var chunks: [String] = []
            var rest = Substring(text)
            while !rest.isEmpty {
                let n = Int(generator.next() % 50) + 1
                chunks.append(String(rest.prefix(n)))
                rest = rest.dropFirst(n)
            }
            #expect(Self.split(chunks, maxLine: 24, flush: true) == whole)
        }
        #expect(whole.allSatisfy { $0.utf8.count <= 24 })
    }
}
