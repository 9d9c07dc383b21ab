import BulkheadJSON
import BulkheadPolicy
import BulkheadState
import BulkheadSystem
import Glibc

/// What one daemon image hands the next across `execve` (`bulkhead reexec`, SPEC §10): a memfd
/// of JSON and a memfd of bytes (`HandoffBlob`), whose numbers are in the new image's
/// environment, and the fds every part keeps open. Each part writes its own section and lists
/// the fds it keeps (`ProcessTable`, `OutputPipeline`, `NotifyReceiver`, `ControlServer`); the
/// daemon adds policy's records (a `StateDocument` with every field), the config text it runs,
/// its options, systemd's socket and its own counters.
///
/// The previous binary stays open too: a new image that cannot take over (it does not read
/// this handoff, or the config) runs it again with the same handoff and the reason, and the
/// old daemon answers the caller with that reason — the daemon is unchanged.
public struct ReexecHandoff {
    static let formatName = "bulkhead-reexec"
    static let version: Int64 = 1
    /// The JSON memfd's number.
    static let documentVariable = "BULKHEAD_REEXEC_FD"
    /// The blob memfd's number.
    static let blobVariable = "BULKHEAD_REEXEC_BLOB_FD"
    /// The previous binary, open: where a new image that cannot take over goes back to.
    static let previousVariable = "BULKHEAD_REEXEC_PREVIOUS_FD"
    /// Set when a new image went back: why.
    static let failureVariable = "BULKHEAD_REEXEC_FAILED"

    var document: JSONObject
    var blob: HandoffBlob
    /// The fds of this handoff itself (both memfds and the previous binary).
    var documentFD: FileDescriptor
    var blobFD: FileDescriptor
    var previousFD: FileDescriptor?
    /// Set when this image is the previous one, run again by a new image that could not take over.
    var rollbackReason: String?

    func section(_ name: String) -> JSON? {
        document[name]
    }

    // MARK: - Reading (the new image)

    /// The handoff this process was started with, if it was started by a re-exec. The
    /// variables are removed from the environment (nothing the daemon runs may see them).
    public static func take() -> Result<ReexecHandoff, HandoffError>? {
        guard let documentNumber = variable(documentVariable) else { return nil }
        let blobNumber = variable(blobVariable)
        let previousNumber = variable(previousVariable)
        let failure = getenv(failureVariable).map { String(cString: $0) }
        for name in [documentVariable, blobVariable, previousVariable, failureVariable] { unsetenv(name) }
        do throws(HandoffError) {
            let documentFD = try HandoffError.descriptor(Int64(documentNumber), "the re-exec document")
            let blobFD = try HandoffError.descriptor(blobNumber.map(Int64.init), "the re-exec blob")
            let previousFD = previousNumber.flatMap { try? HandoffError.descriptor(Int64($0), "the previous binary") }
            guard let text = ProcessImage.readAll(documentFD, limit: 512 << 20),
                  let blobBytes = ProcessImage.readAll(blobFD, limit: 4 << 30) else {
                throw HandoffError("the re-exec handoff cannot be read")
            }
            let root: JSON
            do {
                root = try JSON(parsing: text, limits: JSONLimits(maxDepth: 16, maxInputBytes: 512 << 20, maxStringBytes: 64 << 20, maxElements: 50_000_000))
            } catch {
                throw HandoffError("the re-exec handoff is not JSON (\(error))")
            }
            guard let document = root.object, document["format"]?.string == formatName else {
                throw HandoffError("the re-exec handoff is not one this bulkhead knows")
            }
            guard document["version"]?.int == version else {
                throw HandoffError("the re-exec handoff is version \(document["version"]?.int ?? 0), this bulkhead reads version \(version)")
            }
            return .success(ReexecHandoff(document: document, blob: HandoffBlob(bytes: blobBytes), documentFD: documentFD,
                                          blobFD: blobFD, previousFD: previousFD, rollbackReason: failure))
        } catch {
            if let previous = previousNumber, failure == nil {
                // Not even readable: go back to the binary that wrote it, with why.
                rollBack(previous: FileDescriptor(rawValue: previous), documentNumber: documentNumber, blobNumber: blobNumber,
                         reason: error.reason)
            }
            return .failure(error)
        }
    }

    private static func variable(_ name: String) -> Int32? {
        getenv(name).flatMap { Int32(String(cString: $0)) }
    }

    /// The options the daemon ran with.
    public var options: Daemon.Options? {
        guard let o = document["options"], let config = o["config"]?.string else { return nil }
        return Daemon.Options(configPath: config, socketPath: o["socket"]?.string, timestamps: o["timestamps"]?.bool ?? true,
                              keepsState: o["keeps_state"]?.bool ?? true, logFormat: o["log_format"]?.string.flatMap(LogFormat.init(rawValue:)))
    }

    public var configText: String? { document["config_text"]?.string }

    /// Policy's records, exactly (the same boot: every instant as it was).
    func records() throws(HandoffError) -> [InstanceEntry] {
        guard let state = document["state"] else { throw HandoffError("the re-exec handoff has no state") }
        do {
            return try StateDocument.decode(state.encodedBytes()).instances
        } catch {
            throw HandoffError("the re-exec handoff's state is unreadable (\(error.reason))")
        }
    }

    /// Everything checked before anything is taken: a new image that fails here goes back.
    public func validate() throws(HandoffError) {
        guard options != nil, configText != nil else { throw HandoffError("the re-exec handoff has no options or config") }
        _ = try records()
        _ = try HandoffError.descriptor(section("daemon")?["state_lock"]?.int, "the state directory's lock")
        try ProcessTable.validate(section("processes"))
        try OutputPipeline.validate(section("output"), blob)
        try NotifyReceiver.validate(section("notify"))
        _ = try ControlServer.inheritedListener(section("control"))
    }

    /// Taken over: the handoff's own fds go (the previous binary's file with them).
    func release() {
        documentFD.close()
        blobFD.close()
        previousFD?.close()
    }

    /// This image cannot take over: the previous binary runs again with the same handoff.
    /// Returns only if even that failed.
    public func rollBack(reason: String) {
        guard let previousFD else { return }
        Self.rollBack(previous: previousFD, documentNumber: documentFD.rawValue, blobNumber: blobFD.rawValue, reason: reason)
    }

    private static func rollBack(previous: FileDescriptor, documentNumber: Int32, blobNumber: Int32?, reason: String) {
        var environment = ProcessImage.environment()
        environment += ["\(documentVariable)=\(documentNumber)", "\(previousVariable)=\(previous.rawValue)",
                        "\(failureVariable)=\(reason)"]
        if let blobNumber { environment.append("\(blobVariable)=\(blobNumber)") }
        let error = ProcessImage.exec(previous, arguments: Array(CommandLine.arguments), environment: environment)
        FileDescriptor.standardError.writeLine("bulkhead: re-exec: could not run the previous binary again (\(error))")
    }

    // MARK: - Writing (the old image)

    /// The memfds of `document` and `blob`, and the environment that names them.
    static func write(_ document: JSON, _ blob: HandoffBlob, previous: FileDescriptor?) throws(SystemError)
        -> (keep: [FileDescriptor], environment: [String]) {
        let documentFD = try ProcessImage.memoryFile(named: "bulkhead-reexec", document.encodedBytes())
        let blobFD: FileDescriptor
        do {
            blobFD = try ProcessImage.memoryFile(named: "bulkhead-reexec-blob", blob.bytes)
        } catch {
            documentFD.close()
            throw error
        }
        var environment = ProcessImage.environment().filter { !$0.hasPrefix("BULKHEAD_REEXEC_") }
        environment += ["\(documentVariable)=\(documentFD.rawValue)", "\(blobVariable)=\(blobFD.rawValue)"]
        var keep = [documentFD, blobFD]
        if let previous {
            environment.append("\(previousVariable)=\(previous.rawValue)")
            keep.append(previous)
        }
        return (keep, environment)
    }
}
