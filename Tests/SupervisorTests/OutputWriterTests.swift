@testable import Supervisor
import BulkheadPolicy
import BulkheadSystem
import CLinux
import Glibc
import Testing

/// `OutputWriter`: bulkhead's output goes out from its own thread, so a stalled reader can never
/// block the loop. And `TextSink`, the line format written through it.
@Suite struct OutputWriterTests {
    /// Reads `fd` to end of file on a thread of its own.
    final class Collector: @unchecked Sendable {
        private var thread = pthread_t()
        private(set) var bytes: [UInt8] = []
        let fd: Int32

        init(_ fd: Int32) {
            self.fd = fd
            _ = bh_set_nonblocking(fd, 0)
            let context = Unmanaged.passRetained(self).toOpaque()
            pthread_create(&thread, nil, { raw in
                let collector = Unmanaged<Collector>.fromOpaque(raw!).takeRetainedValue()
                var chunk = [UInt8](repeating: 0, count: 65536)
                while true {
                    let n = chunk.withUnsafeMutableBytes { Glibc.read(collector.fd, $0.baseAddress, $0.count) }
                    if n < 0 && errno == EINTR { continue }
                    if n <= 0 { break }
                    collector.bytes += chunk[0..<n]
                }
                return nil
            }, context)
        }

        /// Waits for end of file (every write end closed).
        func join() -> [UInt8] {
            pthread_join(thread, nil)
            return bytes
        }
    }

    @Test func everythingSubmittedArrivesInOrder() throws {
        let pipe = try Pipe()
        let collector = Collector(pipe.readEnd.rawValue)
        let writer = OutputWriter(fd: pipe.writeEnd.rawValue)
        var expected: [UInt8] = []
        // Far more than a pipe holds, so the writer thread really waits on the reader.
        for i in 0..<20_000 {
            let line = Array("line \(i) \(String(repeating: "=", count: i % 90))\n".utf8)
            expected += line
            #expect(line.withUnsafeBytes { writer.submit($0, lines: 1) })
        }
        writer.drain(timeoutNanoseconds: 20_000_000_000)
        #expect(writer.takeDroppedLines() == 0)
        pipe.writeEnd.close()
        let received = collector.join()
        pipe.readEnd.close()
        #expect(received.count == expected.count)
        #expect(received == expected)
    }

    @Test func aReaderThatNeverReadsNeverBlocksSubmitAndDropsAreCounted() throws {
        let pipe = try Pipe()
        let writer = OutputWriter(fd: pipe.writeEnd.rawValue, capacity: 256 << 10)
        let chunk = [UInt8](repeating: UInt8(ascii: "x"), count: 4095) + [0x0A]
        var accepted = 0
        var dropped = 0
        let start = bh_monotonic_ns()
        // 40 MB against a 64 KB pipe and a 256 KB queue: most of it must be refused, at once.
        for _ in 0..<10_000 {
            if chunk.withUnsafeBytes({ writer.submit($0, lines: 3) }) { accepted += 1 } else { dropped += 1 }
        }
        let elapsed = bh_monotonic_ns() - start
        #expect(elapsed < 5_000_000_000, "10 000 submits took \(elapsed / 1_000_000) ms")
        #expect(dropped > 0)
        #expect(accepted * chunk.count <= (256 << 10) + (1 << 20))   // the queue plus what the pipe took
        #expect(writer.takeDroppedLines() == dropped * 3)
        #expect(writer.takeDroppedLines() == 0)

        // Once someone reads, what was accepted comes out whole: drops are whole chunks.
        let collector = Collector(pipe.readEnd.rawValue)
        writer.drain(timeoutNanoseconds: 20_000_000_000)
        pipe.writeEnd.close()
        let received = collector.join()
        pipe.readEnd.close()
        #expect(received.count == accepted * chunk.count)
        #expect(received.allSatisfy { $0 == UInt8(ascii: "x") || $0 == 0x0A })
    }

    @Test func drainReturnsByItsDeadlineWhenTheReaderStalls() throws {
        let pipe = try Pipe()
        let writer = OutputWriter(fd: pipe.writeEnd.rawValue, capacity: 4 << 20)
        let chunk = [UInt8](repeating: 0x41, count: 1 << 20)
        for _ in 0..<2 { _ = chunk.withUnsafeBytes { writer.submit($0, lines: 1) } }
        let start = bh_monotonic_ns()
        writer.drain(timeoutNanoseconds: 100_000_000)
        let elapsed = bh_monotonic_ns() - start
        #expect(elapsed >= 100_000_000 && elapsed < 5_000_000_000)
        // Let the writer finish so its thread is idle when the test ends.
        let collector = Collector(pipe.readEnd.rawValue)
        writer.drain(timeoutNanoseconds: 20_000_000_000)
        pipe.writeEnd.close()
        #expect(collector.join().count == 2 << 20)
        pipe.readEnd.close()
    }

    @Test func textSinkPrefixesEachLineWithItsInstanceAndStream() throws {
        let pipe = try Pipe()
        let collector = Collector(pipe.readEnd.rawValue)
        let sink = TextSink(fd: pipe.writeEnd.rawValue, timestamps: false)
        let id = InstanceID(worker: "api", index: 0)
        for (stream, text) in [(OutputStream.stdout, "hello"), (.stderr, "oops"), (.stdout, "<3>urgent"), (.stderr, "<6>calm")] {
            var text = text
            text.withUTF8 { sink.workerLine(id, label: "api:0", stream: stream, line: UnsafeRawBufferPointer($0)) }
        }
        sink.event(SupervisorEvent(.exit, id, message: "exited with code 1"), extra: [.init("CRASH_ID", "abc")])
        sink.endOfIteration()
        sink.drain(timeoutNanoseconds: 10_000_000_000)
        pipe.writeEnd.close()
        let text = String(decoding: collector.join(), as: UTF8.self)
        pipe.readEnd.close()
        #expect(text == """
            api:0 | hello
            api:0 ! oops
            api:0 ! urgent
            api:0 | calm
            api:0 * exit: exited with code 1 [crash abc]

            """)
    }
}
