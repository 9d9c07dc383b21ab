/// The exit codes WorkerKit ends a worker with; bulkhead's default classification reads them.
///
/// | code | meaning | bulkhead's default class |
/// |---|---|---|
/// | 0 | `run` returned, or it ended because SIGTERM/SIGINT asked it to stop | `clean` |
/// | 75 | `EX_TEMPFAIL`: a transient error (also any error that declares no class) | `transient` |
/// | 78 | `EX_CONFIG`: a persistent error | `persistent` |
/// | 86 | WorkerKit's corruption code | `corruption` |
///
/// 86 sits outside the sysexits range (64–78) and outside 128+signal, so no other convention
/// claims it.
public struct WorkerExitCode: RawRepresentable, Hashable, Sendable, CustomStringConvertible {
    public let rawValue: Int32

    public init(rawValue: Int32) {
        self.rawValue = rawValue
    }

    /// `run` returned normally, or ended because a stop was requested.
    public static let success = WorkerExitCode(rawValue: 0)
    /// `EX_TEMPFAIL` (sysexits.h): try again later.
    public static let transient = WorkerExitCode(rawValue: 75)
    /// `EX_CONFIG` (sysexits.h): a configuration error; retrying will not help.
    public static let persistent = WorkerExitCode(rawValue: 78)
    /// Data corruption: bulkhead quarantines the instance. Documented contract value.
    public static let corruption = WorkerExitCode(rawValue: 86)

    public var description: String { String(rawValue) }
}
