import CLinux
import Glibc
import Logging
import Testing

@testable import WorkerKit

private struct Boom: Error, CustomStringConvertible {
    var description: String { "disk on fire" }
}

@Suite("WorkerLogHandler line format")
struct LogLineFormatTests {
    private func line(
        _ level: Logger.Level,
        _ message: Logger.Message,
        metadata: Logger.Metadata? = nil,
        error: (any Error)? = nil,
        handler: WorkerLogHandler = WorkerLogHandler(label: "test")
    ) -> String {
        let event = LogEvent(level: level, message: message, error: error, metadata: metadata, source: nil, file: #fileID, function: #function, line: #line)
        return String(decoding: handler.line(for: event), as: UTF8.self)
    }

    @Test(arguments: [
        (Logger.Level.trace, "<7>"), (.debug, "<7>"), (.info, "<6>"), (.notice, "<5>"),
        (.warning, "<4>"), (.error, "<3>"), (.critical, "<2>"),
    ])
    func priorityPrefix(level: Logger.Level, prefix: String) {
        #expect(line(level, "hello") == "\(prefix)hello\n")
    }

    @Test func metadataSortedAsKeyValue() {
        #expect(line(.info, "charged card", metadata: ["trace_id": "abc", "order": "42"]) == "<6>charged card order=42 trace_id=abc\n")
    }

    @Test func valuesQuotedWhenNeeded() {
        let text = line(.warning, "odd", metadata: ["a": "two words", "b": "", "c": "say \"hi\"", "d": "x=y", "e": "back\\slash"])
        #expect(text == #"<4>odd a="two words" b="" c="say \"hi\"" d="x=y" e="back\\slash""# + "\n")
    }

    @Test func multiLineMessageIsOneLine() {
        #expect(line(.error, "first\nsecond\r\nthird\tcol") == "<3>first\\nsecond\\r\\nthird\\tcol\n")
        #expect(line(.error, "bell\u{07}") == "<3>bell\\x07\n")
        #expect(line(.info, "x", metadata: ["stack": "a\nb"]) == "<6>x stack=\"a\\nb\"\n")
    }

    @Test func keysSanitized() {
        #expect(line(.info, "x", metadata: ["user id": "1", "": "e"]) == "<6>x _=e user_id=1\n")
    }

    @Test func nestedValues() {
        let text = line(.info, "x", metadata: ["list": ["a", "b"], "map": ["z": "1", "y": "2"], "n": .stringConvertible(42)])
        // `=` inside a value needs quotes, so a reader can split fields on the first `=`.
        #expect(text == "<6>x list=[a,b] map=\"{y=2,z=1}\" n=42\n")
    }

    @Test func errorAppended() {
        #expect(line(.error, "write failed", metadata: ["file": "a"], error: Boom()) == "<3>write failed file=a error=\"disk on fire\"\n")
    }

    @Test func labelOnRequest() {
        let handler = WorkerLogHandler(label: "db", showsLabel: true)
        #expect(line(.notice, "vacuum", handler: handler) == "<5>[db] vacuum\n")
    }

    @Test func metadataPrecedence() {
        var handler = WorkerLogHandler(label: "t", metadataProvider: .init { ["request": "provided", "p": "1"] })
        handler.metadata = ["request": "handler", "h": "1"]
        #expect(line(.info, "m", metadata: ["request": "explicit"], handler: handler) == "<6>m h=1 p=1 request=explicit\n")
        #expect(line(.info, "m", handler: handler) == "<6>m h=1 p=1 request=provided\n")
    }

    @Test func utf8PassesThrough() {
        #expect(line(.info, "größe 💾", metadata: ["k": "wert ✓"]) == "<6>größe 💾 k=\"wert ✓\"\n")
    }

    /// Lines longer than PIPE_BUF from concurrent tasks arrive whole: one write(2) each,
    /// serialised by the handler.
    @Test func concurrentLongLinesNeverInterleave() async throws {
        var fds: [Int32] = [-1, -1]
        #expect(bh_pipe(&fds) == 0)
        _ = bh_set_nonblocking(fds[0], 0)
        let readEnd = fds[0]
        let writeEnd = fds[1]
        let writers = 4
        let linesEach = 25
        let payload = String(repeating: "x", count: 10_000)

        let reader = Task.detached {
            await offload {
                var data: [UInt8] = []
                var buffer = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = read(readEnd, &buffer, buffer.count)
                    if n <= 0 { break }
                    data.append(contentsOf: buffer[0..<n])
                }
                return data
            }
        }
        await withTaskGroup(of: Void.self) { group in
            for writer in 0..<writers {
                group.addTask {
                    let logger = Logger(label: "w\(writer)") { WorkerLogHandler(label: $0, stream: .fileDescriptor(writeEnd)) }
                    for index in 0..<linesEach {
                        logger.info("\(payload)", metadata: ["writer": "\(writer)", "index": "\(index)"])
                    }
                }
            }
        }
        close(writeEnd)
        let data = await reader.value
        close(readEnd)
        let lines = String(decoding: data, as: UTF8.self).split(separator: "\n", omittingEmptySubsequences: false).dropLast()
        #expect(lines.count == writers * linesEach)
        for line in lines {
            #expect(line.hasPrefix("<6>" + payload + " index="))
            #expect(line.utf8.count < payload.utf8.count + 40)
        }
    }
}
