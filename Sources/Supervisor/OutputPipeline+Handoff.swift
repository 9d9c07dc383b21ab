import BulkheadJSON
import BulkheadPolicy
import BulkheadSystem

/// The output across a re-exec: every live pipe stays open (a worker never notices), the line
/// each one was in the middle of is carried, and so are the rings (`bulkhead logs`, the stderr
/// tail and the crash window of a death that comes right after). The pinned head of a crash
/// block is not carried: a block that began before the exec is read from the window alone.
extension OutputPipeline {
    func handoff(_ blob: inout HandoffBlob) -> (section: JSON, keep: [FileDescriptor]) {
        var instances: [JSON] = []
        var keep: [FileDescriptor] = []
        for (id, output) in outputs.sorted(by: { $0.key < $1.key }) {
            var o: [(String, JSON)] = [("instance", .string(id.description))]
            for (name, pipe) in [("stdout", output.stdout), ("stderr", output.stderr)] {
                guard let pipe, pipe.open else { continue }
                keep.append(pipe.fd)
                o.append((name, .object([("fd", .int(Int64(pipe.fd.rawValue))), ("partial", blob.append(pipe.splitter.pendingBytes))])))
            }
            var log: [UInt8] = []
            HandoffLines.encode(output.log, into: &log)
            var tail: [UInt8] = []
            HandoffLines.encode(output.stderrTail, into: &tail)
            o.append(("log", blob.append(log)))
            o.append(("stderr_tail", blob.append(tail)))
            o.append(("lines_of_process", .int(Int64(clamping: output.linesOfProcess))))
            instances.append(.object(o))
        }
        return (.object([("instances", .array(instances))]), keep)
    }

    /// Checks a handoff section before anything is taken from it.
    static func validate(_ section: JSON?, _ blob: HandoffBlob) throws(HandoffError) {
        for instance in section?["instances"]?.array ?? [] {
            guard let name = instance["instance"]?.string, InstanceID(parsing: name) != nil else { throw HandoffError("output: an instance without a name") }
            for stream in ["stdout", "stderr"] where instance[stream] != nil {
                _ = try HandoffError.descriptor(instance[stream]?["fd"]?.int, "output \(name) \(stream)")
            }
            for ring in ["log", "stderr_tail"] {
                guard let bytes = blob.slice(instance[ring]), HandoffLines.decode(bytes) != nil else { throw HandoffError("output \(name): its \(ring) lines are unreadable") }
            }
        }
    }

    /// Rebuilds from a validated section: pipes registered again, partial lines and rings back.
    func restore(_ section: JSON?, _ blob: HandoffBlob) {
        for instance in section?["instances"]?.array ?? [] {
            guard let name = instance["instance"]?.string, let id = InstanceID(parsing: name) else { continue }
            let output = output(for: id)
            output.restore(log: blob.slice(instance["log"]).flatMap(HandoffLines.decode) ?? [],
                           stderrTail: blob.slice(instance["stderr_tail"]).flatMap(HandoffLines.decode) ?? [],
                           linesOfProcess: UInt64(max(0, instance["lines_of_process"]?.int ?? 0)))
            for stream in [OutputStream.stdout, .stderr] {
                guard let part = instance[stream.rawValue], let number = part["fd"]?.int, let fd = Int32(exactly: number) else { continue }
                let pipe = attach(id, FileDescriptor(rawValue: fd), stream)
                pipe?.splitter.pendingBytes = Array(blob.slice(part["partial"]) ?? [])
                if stream == .stdout { output.stdout = pipe } else { output.stderr = pipe }
            }
        }
    }
}

extension OutputPipeline {
    /// Per worker, the lines and bytes `/metrics` counts: they go on across a re-exec.
    func countsHandoff() -> JSON {
        .object(JSONObject(countsByWorker().map { worker, counts in
            (worker, .object(JSONObject([
                ("stdout_lines", .int(Int64(clamping: counts.stdoutLines))), ("stderr_lines", .int(Int64(clamping: counts.stderrLines))),
                ("stdout_bytes", .int(Int64(clamping: counts.stdoutBytes))), ("stderr_bytes", .int(Int64(clamping: counts.stderrBytes))),
            ])))
        }))
    }

    /// What `countsHandoff` wrote; a missing section or a malformed worker starts from zero.
    func restoreCounts(from section: JSON?) {
        var restored: [String: OutputCounts] = [:]
        for member in section?.object?.members ?? [] {
            let names = ["stdout_lines", "stderr_lines", "stdout_bytes", "stderr_bytes"]
            let values = names.compactMap { member.value[$0]?.int.flatMap { $0 >= 0 ? UInt64($0) : nil } }
            guard values.count == names.count else { continue }
            restored[member.key] = OutputCounts(stdoutLines: values[0], stderrLines: values[1], stdoutBytes: values[2], stderrBytes: values[3])
        }
        restoreCounts(restored)
    }
}
