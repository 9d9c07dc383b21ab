/// How bad a failure is, and therefore what bulkhead does after the worker exits with it.
///
/// Ordered from least to most severe: `transient < persistent < corruption`. When several
/// failures meet (an error group), the worst one decides the exit code.
public enum FailureClass: String, Sendable, Hashable, CaseIterable, Comparable, CustomStringConvertible {
    /// Worth retrying: bulkhead restarts the worker with backoff. Exit code 75 (`EX_TEMPFAIL`).
    case transient
    /// Retrying will not help (bad config, missing permission): bulkhead marks the instance
    /// `failed`. Exit code 78 (`EX_CONFIG`).
    case persistent
    /// Data may be damaged: bulkhead quarantines the instance and stops its dependents.
    /// Exit code 86 (``WorkerExitCode/corruption``).
    case corruption

    /// The exit code a worker ends with when this class decides its exit.
    public var exitCode: WorkerExitCode {
        switch self {
        case .transient: .transient
        case .persistent: .persistent
        case .corruption: .corruption
        }
    }

    /// The class of any error: what a ``ClassifiedError`` declares, ``FailureClass/transient``
    /// for everything else (an unknown failure is assumed worth a retry).
    public init(of error: any Error) {
        self = FailureClass.declared(by: error) ?? .transient
    }

    /// The class an error declares itself, or nil when it declares none. An error group's
    /// combined error declares the worst class any of its failures declares.
    static func declared(by error: any Error) -> FailureClass? {
        if let group = error as? WorkerGroupError {
            return group.failures.compactMap { declared(by: $0.error) }.max()
        }
        if let classified = error as? any ClassifiedError {
            return classified.failureClass
        }
        return nil
    }

    public static func < (lhs: FailureClass, rhs: FailureClass) -> Bool {
        lhs.severity < rhs.severity
    }

    public var description: String { rawValue }

    private var severity: Int {
        switch self {
        case .transient: 0
        case .persistent: 1
        case .corruption: 2
        }
    }
}
