import Logging

/// A swift-log handler for supervised workers: one line per record on stderr (or stdout, or an
/// fd), prefixed `<N>` with the syslog priority so journald (and bulkhead) file it with the
/// right `PRIORITY`, written with a single write(2) so concurrent records never interleave.
/// See `LogLineFormatter` for the exact format.
///
/// ```swift
/// LoggingSystem.bootstrap { WorkerLogHandler(label: $0) }
/// ```
/// WorkerKit's `main` does this unless ``WorkerConfiguration/bootstrapsLogging`` is false.
public struct WorkerLogHandler: LogHandler {
    public let label: String
    public let stream: WorkerOutput
    /// Print `[label]` after the priority. Off by default: journald already names the worker.
    public var showsLabel: Bool
    public var logLevel: Logger.Level
    public var metadata: Logger.Metadata = [:]
    public var metadataProvider: Logger.MetadataProvider?

    public init(
        label: String,
        stream: WorkerOutput = .standardError,
        logLevel: Logger.Level = .info,
        showsLabel: Bool = false,
        metadataProvider: Logger.MetadataProvider? = nil
    ) {
        self.label = label
        self.stream = stream
        self.logLevel = logLevel
        self.showsLabel = showsLabel
        self.metadataProvider = metadataProvider
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        stream.writeLine(line(for: event))
    }

    /// The bytes `log(event:)` writes, trailing newline included.
    public func line(for event: LogEvent) -> [UInt8] {
        // Precedence as swift-log's own handlers: handler metadata, then the provider's, then
        // the record's own.
        var merged = metadata
        if let provided = metadataProvider?.get(), !provided.isEmpty {
            merged.merge(provided) { _, new in new }
        }
        if let explicit = event.metadata, !explicit.isEmpty {
            merged.merge(explicit) { _, new in new }
        }
        return LogLineFormatter.format(
            level: event.level,
            label: showsLabel ? label : nil,
            message: event.message.description,
            metadata: merged,
            error: event.error
        )
    }
}
