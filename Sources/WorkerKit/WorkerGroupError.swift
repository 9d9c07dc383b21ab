/// What a ``WorkerErrorGroup`` throws when any of its tasks failed: every failure, in the order
/// they happened, each with its class. Its own class is the worst of them, so thrown out of
/// `run` it decides the exit code.
public struct WorkerGroupError: ClassifiedError, CustomStringConvertible {
    public struct Failure: Sendable, CustomStringConvertible {
        /// The name given to `addTask`, or nil (the group's body has no name either).
        public var task: String?
        public var error: any Error
        public var failureClass: FailureClass

        public init(task: String?, error: any Error) {
            self.task = task
            self.error = error
            self.failureClass = FailureClass(of: error)
        }

        public var description: String {
            let name = task.map { "\($0): " } ?? ""
            return "[\(failureClass)] \(name)\(error)"
        }
    }

    /// Never empty.
    public var failures: [Failure]

    public init(failures: [Failure]) {
        precondition(!failures.isEmpty, "a group error needs at least one failure")
        self.failures = failures
    }

    /// The worst class among the failures (`corruption > persistent > transient`).
    public var failureClass: FailureClass {
        failures.map(\.failureClass).max() ?? .transient
    }

    public var description: String {
        let count = failures.count == 1 ? "1 task failed" : "\(failures.count) tasks failed"
        return "\(count) (worst: \(failureClass)): " + failures.map(\.description).joined(separator: "; ")
    }
}
