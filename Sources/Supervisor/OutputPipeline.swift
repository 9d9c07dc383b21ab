import BulkheadForensics
import BulkheadPolicy
import BulkheadSystem
import Glibc

/// Worker output: each instance's stdout and stderr pipes, read in bounded chunks, cut into
/// lines, kept in the instance's rings (for `bulkhead logs`, the stderr tail and the crash
/// window) and handed to the sink. A flooding worker gets a fair share per loop turn, never the
/// whole loop; its rings are bounded, so it costs memcpy, not memory.
final class OutputPipeline {
    private(set) var outputs: [InstanceID: InstanceOutput] = [:]
    private let loop: EventLoop
    let sink: OutputSink
    /// Reused by every pipe read.
    private let readBuffer: UnsafeMutableRawBufferPointer
    /// Reused by every chunk (see `LineBatch`).
    private var spareBatch = LineBatch(reserving: true)
    private var config: OutputConfig
    /// The loop turn's wall time: every line read in a turn is stamped with it.
    var turnWall: Int64 = 0
    /// Called once per chunk of lines for an instance someone follows (`logs -f`).
    var linesAppended: (InstanceOutput) -> Void = { _ in }
    /// Per worker, what all its instances wrote (those that left included): kept as each batch
    /// is counted, so a scrape reads a few totals instead of walking every instance on the loop
    /// (1000 scattered records cost it ~70 µs per scrape).
    private var workerTotals: [String: WorkerOutputTotals] = [:]

    static let readsPerTurn = 8
    static let chunkBytes = 64 << 10

    init(loop: EventLoop, sink: OutputSink, config: OutputConfig) {
        self.loop = loop
        self.sink = sink
        self.config = config
        readBuffer = .allocate(byteCount: Self.chunkBytes, alignment: 16)
    }

    deinit {
        readBuffer.deallocate()
    }

    /// The instance's output record, made on first use (an instance that never ran has none).
    func output(for id: InstanceID) -> InstanceOutput {
        if let existing = outputs[id] { return existing }
        let totals = workerTotals[id.worker] ?? WorkerOutputTotals()
        workerTotals[id.worker] = totals
        let made = InstanceOutput(id: id, config: config, totals: totals)
        outputs[id] = made
        return made
    }

    /// A reload changed `output`: rings made from now on take the new sizes.
    func reconfigure(_ new: OutputConfig) {
        config = new
    }

    /// A new process's pipes.
    func attach(_ id: InstanceID, stdout: FileDescriptor, stderr: FileDescriptor) {
        let output = output(for: id)
        output.processStarted()
        output.stdout = attach(id, stdout, .stdout)
        output.stderr = attach(id, stderr, .stderr)
    }

    func attach(_ id: InstanceID, _ fd: FileDescriptor, _ stream: OutputStream) -> OutputPipe? {
        let pipe = OutputPipe(fd: fd, stream: stream, maxLine: WorkerLauncher.maxLine)
        do {
            pipe.token = try loop.register(fd, .readable, .output(id, stream))
        } catch {
            fd.close()
            return nil
        }
        return pipe
    }

    /// The inodes of the live process's stdout and stderr pipes (for the state file).
    func pipeInodes(_ id: InstanceID) -> (stdout: UInt64, stderr: UInt64)? {
        guard let output = outputs[id], let out = output.stdout, let err = output.stderr, out.open || err.open else { return nil }
        return (out.inode, err.inode)
    }

    /// A pipe is readable: a fair share of it.
    func readable(_ id: InstanceID, _ stream: OutputStream) {
        guard let output = outputs[id], let pipe = stream == .stdout ? output.stdout : output.stderr else { return }
        drain(pipe, output, maxReads: Self.readsPerTurn)
    }

    /// The process is dead: everything it wrote is in its pipes now; take it (bounded), and
    /// close them.
    func processEnded(_ id: InstanceID) {
        guard let output = outputs[id] else { return }
        if let pipe = output.stdout { drain(pipe, output, maxReads: 64) }
        if let pipe = output.stderr { drain(pipe, output, maxReads: 64) }
        close(output)
    }

    /// The instance left the configuration.
    func forget(_ id: InstanceID) {
        guard let output = outputs.removeValue(forKey: id) else { return }
        close(output)
    }

    /// Lines and bytes written per worker (for `/metrics`), instances that left included.
    func countsByWorker() -> [String: OutputCounts] {
        workerTotals.mapValues(\.counts)
    }

    /// Taken over from an earlier image at a re-exec (the counters go on).
    func restoreCounts(_ counts: [String: OutputCounts]) {
        for (worker, value) in counts {
            let totals = workerTotals[worker] ?? WorkerOutputTotals()
            totals.counts = value
            workerTotals[worker] = totals
        }
    }

    private func close(_ output: InstanceOutput) {
        for pipe in [output.stdout, output.stderr].compactMap({ $0 }) where pipe.open {
            pipe.splitter.flush { deliver($0, output, pipe.stream) }
            loop.unregister(pipe.fd, token: pipe.token)
            pipe.fd.close()
            pipe.open = false
        }
        output.stdout = nil
        output.stderr = nil
    }

    /// Reads until the pipe is empty, closed, or `maxReads` chunks were taken.
    private func drain(_ pipe: OutputPipe, _ output: InstanceOutput, maxReads: Int) {
        var batch = LineBatch()
        swap(&batch, &spareBatch)
        defer { swap(&batch, &spareBatch) }
        var reads = 0
        while pipe.open && reads < maxReads {
            reads += 1
            let n: Int?
            do { n = try pipe.fd.read(into: readBuffer) } catch { n = 0 }
            guard let n else { return }
            if n == 0 {
                pipe.splitter.flush { batch.add($0) }
                deliver(&batch, output, pipe.stream)
                loop.unregister(pipe.fd, token: pipe.token)
                pipe.fd.close()
                pipe.open = false
                return
            }
            pipe.splitter.feed(UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])) { batch.add($0) }
            deliver(&batch, output, pipe.stream)
        }
    }

    /// The lines of one chunk go to the rings and the sink, each in one call; the batch is
    /// emptied for the next chunk.
    private func deliver(_ batch: inout LineBatch, _ output: InstanceOutput, _ stream: OutputStream) {
        guard !batch.isEmpty else { return }
        output.count(batch, stream)
        output.append(batch, stream: stream, wall: turnWall)
        sink.workerLines(output.id, label: output.label, stream: stream, batch: batch)
        if output.followers > 0 { linesAppended(output) }
        batch.removeAll()
    }

    /// One line from outside a pipe read (the end of a stream).
    private func deliver(_ line: UnsafeRawBufferPointer, _ output: InstanceOutput, _ stream: OutputStream) {
        var batch = LineBatch()
        batch.add(line)
        deliver(&batch, output, stream)
    }
}

/// What all instances of one worker wrote, shared by their `InstanceOutput`s (counters never
/// go back: an instance that leaves the configuration leaves its lines counted).
final class WorkerOutputTotals {
    var counts = OutputCounts()
}

/// One instance's output, across its restarts: the live process's pipes, and the rings.
final class InstanceOutput {
    let id: InstanceID
    /// Its worker's lines and bytes, per stream (`/metrics`), counted as batches arrive.
    private let totals: WorkerOutputTotals
    let label: String
    var stdout: OutputPipe?
    var stderr: OutputPipe?
    /// Both streams, for `bulkhead logs` (`output.buffer_lines`) and the crash window.
    private(set) var log: LineRing
    /// stderr only, for the report's `stderr_tail` and the rules' `stderr` (`stderr_tail_lines`).
    private(set) var stderrTail: LineRing
    /// Lines in `log` written by the live process (its crash window reads no earlier ones).
    var linesOfProcess: UInt64 { log.totalAppended - processStart }

    /// After a re-exec: the rings as the old image had them.
    func restore(log lines: [HandoffLines.Line], stderrTail tail: [HandoffLines.Line], linesOfProcess: UInt64) {
        for line in lines {
            line.bytes.withUnsafeBytes { log.append($0, stream: line.stream, wallNanoseconds: line.wallNanoseconds) }
        }
        for line in tail {
            line.bytes.withUnsafeBytes { stderrTail.append($0, stream: line.stream, wallNanoseconds: line.wallNanoseconds) }
        }
        processStart = log.totalAppended - min(linesOfProcess, UInt64(log.count))
    }

    /// The head of the last runtime crash block seen (`CrashBlockMarkers`), kept apart so a long
    /// trace cannot scroll it out of `log`: its lines, and `log`'s sequence number of the first.
    private var blockHead: [OutputLine] = []
    private var blockHeadStart: UInt64 = 0
    private var blockHeadBytes = 0
    private var capturingHead = false
    /// Control clients following this instance's output (`bulkhead logs -f`).
    var followers = 0
    /// `log`'s sequence number of the current process's first line: its crash window never
    /// holds an earlier process's lines (a crash loop's last death must not be read twice).
    private var processStart: UInt64 = 0

    /// The window a crash is read from (BulkheadForensics' recognisers need this much to read a
    /// whole block: the message of a Python or Node block is at its end, an ASan report is about
    /// 60 lines; the head of a longer one is pinned, see `blockHead`).
    static let windowLines = 256
    static let windowBytes = 64 << 10
    static let headLines = 256
    static let headBytes = 32 << 10

    func count(_ batch: LineBatch, _ stream: OutputStream) {
        // The batch's bytes are its lines end to end, without their newlines.
        switch stream {
        case .stdout:
            totals.counts.stdoutLines &+= UInt64(batch.count)
            totals.counts.stdoutBytes &+= UInt64(batch.bytes.count)
        case .stderr:
            totals.counts.stderrLines &+= UInt64(batch.count)
            totals.counts.stderrBytes &+= UInt64(batch.bytes.count)
        }
    }

    init(id: InstanceID, config: OutputConfig, totals: WorkerOutputTotals = WorkerOutputTotals()) {
        self.id = id
        self.totals = totals
        label = id.description
        stderrTail = LineRing(maxLines: max(1, config.stderrTailLines), maxBytes: 64 << 10)
        // Saturating: the config bounds buffer_lines, but no config value may trap the daemon.
        let lines = max(Self.windowLines, config.bufferLines)
        let (bytes, overflow) = lines.multipliedReportingOverflow(by: 256)
        log = LineRing(maxLines: lines, maxBytes: max(Self.windowBytes, overflow ? .max : bytes))
    }

    /// A new process: what the previous one wrote stays for `bulkhead logs`, not for its tail.
    func processStarted() {
        processStart = log.totalAppended
        stderrTail.removeAll()
        forgetBlockHead()
    }

    func append(_ batch: LineBatch, stream: OutputStream, wall: Int64) {
        let first = log.totalAppended
        if stream == .stderr { stderrTail.append(batch, stream: .stderr, wallNanoseconds: wall) }
        log.append(batch, stream: stream, wallNanoseconds: wall)
        var index: UInt64 = 0
        batch.forEach { line in
            if CrashBlockMarkers.isBlockStart(line) {
                blockHead = []
                blockHeadBytes = 0
                blockHeadStart = first + index
                capturingHead = true
            }
            if capturingHead {
                if blockHead.count < Self.headLines && blockHeadBytes < Self.headBytes {
                    blockHead.append(OutputLine(stream == .stdout ? .stdout : .stderr, String(decoding: line, as: UTF8.self)))
                    blockHeadBytes += line.count
                } else {
                    capturingHead = false
                }
            }
            index += 1
        }
    }

    /// What a crash is read from: the last lines of both streams, and the pinned head of a
    /// crash block that has scrolled out of them.
    func crashWindow() -> (output: [OutputLine], blockHead: [OutputLine]) {
        var lines: [OutputLine] = []
        var bytes = 0
        let own = Int(clamping: min(log.totalAppended - processStart, UInt64(Self.windowLines)))
        for line in log.lines(last: own).reversed() {
            bytes += line.text.utf8.count
            if bytes > Self.windowBytes && !lines.isEmpty { break }
            lines.append(OutputLine(line.stream == .stdout ? .stdout : .stderr, line.text))
        }
        lines.reverse()
        let windowStart = log.totalAppended - UInt64(lines.count)
        return (lines, blockHeadStart < windowStart && blockHeadStart >= processStart ? blockHead : [])
    }

    private func forgetBlockHead() {
        blockHead = []
        blockHeadBytes = 0
        capturingHead = false
    }
}

/// The read end of one of a process's output pipes, with its partial line.
final class OutputPipe {
    let fd: FileDescriptor
    let stream: OutputStream
    var token: UInt64 = 0
    var splitter: LineSplitter
    var open = true
    /// The pipe's inode: the state file names it, so a later daemon takes over this pipe and no
    /// other (`LeftoverSearch`).
    let inode: UInt64

    init(fd: FileDescriptor, stream: OutputStream, maxLine: Int) {
        self.fd = fd
        self.stream = stream
        splitter = LineSplitter(maxLine: maxLine)
        var st = stat()
        inode = fstat(fd.rawValue, &st) == 0 ? UInt64(st.st_ino) : 0
    }
}
