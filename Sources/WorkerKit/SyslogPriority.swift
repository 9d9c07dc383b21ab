import Logging

/// The `<N>` prefix journald reads from a line (sd-daemon.h `SD_EMERG` … `SD_DEBUG`).
public enum SyslogPriority: Int, Sendable, Hashable, CaseIterable {
    case emergency = 0
    case alert = 1
    case critical = 2
    case error = 3
    case warning = 4
    case notice = 5
    case info = 6
    case debug = 7

    /// swift-log has no emergency or alert; trace has no syslog level below debug.
    public init(_ level: Logger.Level) {
        switch level {
        case .trace, .debug: self = .debug
        case .info: self = .info
        case .notice: self = .notice
        case .warning: self = .warning
        case .error: self = .error
        case .critical: self = .critical
        }
    }

    /// `<N>`.
    public var prefix: String { "<\(rawValue)>" }
}
