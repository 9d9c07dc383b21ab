/// How the end of `run` becomes the process's exit: a code, and the one line printed to stderr
/// (nil when there is nothing to say). Pure, so every rule is tested without a process.
///
/// | `run` … | stop requested? | exit |
/// |---|---|---|
/// | returned | either | 0 |
/// | threw `CancellationError` | yes | 0 |
/// | threw an error that declares no class | yes | 0 (it is taken as the way `run` reacted to cancellation; the line is still printed) |
/// | threw a ``ClassifiedError`` (or a group holding one) | either | its class's code (corruption is never hidden by a stop) |
/// | threw anything else | no | 75, transient |
public struct ExitDecision: Sendable, Hashable {
    public var code: WorkerExitCode
    /// The class that decided the code; nil for a clean end.
    public var failureClass: FailureClass?
    /// The stderr line without the `<N>name: ` prefix; nil for a quiet end.
    public var message: String?
    /// The syslog priority of that line.
    public var priority: SyslogPriority

    public init(code: WorkerExitCode, failureClass: FailureClass?, message: String?, priority: SyslogPriority) {
        self.code = code
        self.failureClass = failureClass
        self.message = message
        self.priority = priority
    }

    /// The decision for `run`'s outcome (`error` nil: it returned).
    public init(error: (any Error)?, stopRequested: Bool) {
        guard let error else {
            self.init(code: .success, failureClass: nil, message: nil, priority: .info)
            return
        }
        let declared = FailureClass.declared(by: error)
        if stopRequested && declared == nil {
            let message = error is CancellationError ? nil : "run ended with an error after the stop request (exit 0): \(error)"
            self.init(code: .success, failureClass: nil, message: message, priority: .notice)
            return
        }
        let failureClass = declared ?? .transient
        let priority: SyslogPriority =
            switch failureClass {
            case .transient: .error
            case .persistent: .critical
            case .corruption: .alert
            }
        self.init(
            code: failureClass.exitCode,
            failureClass: failureClass,
            message: "run failed (\(failureClass), exit \(failureClass.exitCode)): \(error)",
            priority: priority
        )
    }
}
