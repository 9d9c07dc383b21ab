import BulkheadPolicy
import BulkheadSystem

/// Worker output: read in bounded chunks, cut into lines, kept in the instance's rings and
/// handed to the sink. A flooding worker gets a fair share per loop turn, never the whole loop.
extension Daemon {
    static let readsPerTurn = 8

    func readOutput(_ id: InstanceID, _ stream: OutputStream, token: UInt64) {
        guard let slot = slots[id], let pipe = stream == .stdout ? slot.stdout : slot.stderr, pipe.token == token else { return }
        drain(pipe, slot, maxReads: Self.readsPerTurn)
    }

    /// Reads until the pipe is empty, closed, or `maxReads` chunks were taken.
    func drain(_ pipe: OutputPipe, _ slot: InstanceSlot, maxReads: Int) {
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
                deliver(&batch, slot, pipe.stream)
                unregister(pipe.fd, token: pipe.token)
                pipe.fd.close()
                pipe.open = false
                return
            }
            let chunk = UnsafeRawBufferPointer(rebasing: readBuffer[0..<n])
            pipe.splitter.feed(chunk) { batch.add($0) }
            deliver(&batch, slot, pipe.stream)
        }
    }

    /// The lines of one chunk go to the rings and the sink, each in one call; the batch is
    /// emptied for the next chunk.
    func deliver(_ batch: inout LineBatch, _ slot: InstanceSlot, _ stream: OutputStream) {
        guard !batch.isEmpty else { return }
        if stream == .stderr { slot.stderrTail.append(batch, stream: .stderr, wallNanoseconds: iterationWall) }
        slot.log.append(batch, stream: stream, wallNanoseconds: iterationWall)
        sink.workerLines(slot.id, label: slot.label, stream: stream, batch: batch)
        if slot.followers > 0 { wakeFollowers(slot) }
        batch.removeAll()
    }

    /// One line from outside a pipe read (the end of a stream).
    func deliver(_ line: UnsafeRawBufferPointer, _ slot: InstanceSlot, _ stream: OutputStream) {
        var batch = LineBatch()
        batch.add(line)
        deliver(&batch, slot, stream)
    }
}
