import BulkheadControl
import BulkheadJSON
import BulkheadSystem

/// `bulkhead logs` from the journal: used when the daemon says it writes to journald
/// (`"output":"journal"` in its `logs` reply) and this user can read the journal, or when the
/// daemon is not running but the journal holds lines of that name (its last words before a
/// crash are exactly what one looks for then). See docs/systemd.md.
struct JournalLogs: LogSource {
    let reader: JournalLogReader
    let worker: String?
    let instance: String?

    /// `api` → worker api; `api:1` → that instance; `all` → every worker.
    init(reader: JournalLogReader, name: String) {
        self.reader = reader
        if name == "all" {
            worker = nil
            instance = nil
        } else if let colon = name.firstIndex(of: ":") {
            worker = String(name[..<colon])
            instance = name
        } else {
            worker = name
            instance = nil
        }
    }

    var hasLines: Bool {
        !reader.lines(worker: worker, instance: instance, last: 1).isEmpty
    }

    func show(name: String, last: Int, follow: Bool, _ printer: LogPrinter) throws {
        guard follow else {
            for line in reader.lines(worker: worker, instance: instance, last: last) { printer.print(Self.json(line)) }
            printer.flush()
            return
        }
        reader.follow(worker: worker, instance: instance, last: last) { line in
            if let line { printer.print(Self.json(line)) } else { printer.flushIfIdle() }
            return true
        }
    }

    /// The same shape as a line of the daemon's buffer, plus its priority.
    static func json(_ line: JournalLogReader.Line) -> JSON {
        var members: [(String, JSON)] = [
            ("instance", .string(line.instance)), ("stream", .string(line.stream)), ("at", .string(line.at)),
            ("text", .string(line.text)),
        ]
        if let priority = line.priority { members.append(("priority", .int(Int64(priority)))) }
        return .object(members)
    }
}

/// Where `bulkhead logs NAME` reads from.
enum LogSources {
    static func choose(name: String, connection: ConnectionOptions) throws -> any LogSource {
        let client: ControlClient
        do {
            client = try ControlClient(path: connection.path)
        } catch {
            // No daemon: the journal still has what it wrote.
            if let reader = try? JournalLogReader(), reader.canSeeJournalFiles {
                let journal = JournalLogs(reader: reader, name: name)
                if journal.hasLines {
                    FileDescriptor.standardError.writeLine("bulkhead: the daemon is not reachable (\(error.message)); these lines are from the journal")
                    return journal
                }
            }
            throw CLI.fail(error)
        }
        // One request that checks the name and says where the daemon writes.
        let reply: JSON
        do {
            reply = try client.call("logs", [("names", [.string(name)]), ("lines", .int(0))])
        } catch {
            throw CLI.fail(error)
        }
        guard reply["output"]?.string == "journal" else { return DaemonBufferLogs(connection: connection) }
        if let reader = try? JournalLogReader(), reader.canSeeJournalFiles {
            return JournalLogs(reader: reader, name: name)
        }
        FileDescriptor.standardError.writeLine("bulkhead: the output is in the journal, which you may not read (root or the systemd-journal group may); these lines are from bulkhead's own buffer")
        return DaemonBufferLogs(connection: connection)
    }
}
