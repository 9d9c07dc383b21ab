import ServiceLifecycle
import WorkerKit

/// A second service in the group, standing in for a queue consumer or a cache refresher. It runs
/// until the group shuts down, or until `GET /fail?class=…` tells it to throw an error of that
/// class: the group then cancels the server, and WorkerService ends the process with the class's
/// exit code (transient 75, persistent 78, corruption 86).
final class FaultInjection: Service {
    private let orders: AsyncStream<FailureClass>
    private let continuation: AsyncStream<FailureClass>.Continuation

    init() {
        (orders, continuation) = AsyncStream.makeStream(of: FailureClass.self)
    }

    func fail(_ failureClass: FailureClass) {
        continuation.yield(failureClass)
    }

    func run() async throws {
        for await failureClass in orders.cancelOnGracefulShutdown() {
            Breadcrumbs.record("background service failing", ["class": failureClass.rawValue])
            throw WorkerError(failureClass, "background service failed as asked (GET /fail?class=\(failureClass))")
        }
    }
}
