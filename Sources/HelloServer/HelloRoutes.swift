import Hummingbird
import Synchronization
import WorkerKit

/// hello-server's routes. Each is what a probe or a test needs from a real service: a health
/// check, a hello, a slow request to be in flight during a stop, a trap, a failing background
/// service.
enum HelloRoutes {
    static func router(context: WorkerContext, crashEvery: Int?, faults: FaultInjection) -> Router<BasicRequestContext> {
        let router = Router()
        router.add(middleware: RequestBreadcrumbs(context: context, crashEvery: crashEvery))

        router.get("/healthz") { _, _ in
            "ok\n"
        }
        router.get("/") { _, _ in
            "hello from \(context.name)\n"
        }
        router.get("/slow") { request, _ in
            let milliseconds = request.uri.queryParameters.get("ms", as: Int.self) ?? 500
            guard (0...60_000).contains(milliseconds) else { throw HTTPError(.badRequest, message: "ms wants 0…60000\n") }
            context.logger.info("slow request started", metadata: ["ms": "\(milliseconds)"])
            try await Task.sleep(for: .milliseconds(milliseconds))
            return "slept \(milliseconds) ms\n"
        }
        router.get("/crash") { _, _ -> String in
            Trap.indexOutOfRange(reason: "GET /crash")
        }
        router.get("/fail") { request, _ in
            let name = request.uri.queryParameters.get("class") ?? "transient"
            guard let failureClass = FailureClass(rawValue: String(name)) else {
                throw HTTPError(.badRequest, message: "class wants transient, persistent or corruption\n")
            }
            faults.fail(failureClass)
            return "the background service fails now (\(failureClass))\n"
        }
        return router
    }
}

/// Leaves a breadcrumb per request (so a crash report says which request killed the process),
/// counts requests, and traps on every Nth one when told to. `/healthz` is neither counted nor
/// recorded: probes would drown the interesting breadcrumbs.
struct RequestBreadcrumbs: RouterMiddleware {
    typealias Context = BasicRequestContext

    let context: WorkerContext
    let crashEvery: Int?
    private let counter = Counter()

    init(context: WorkerContext, crashEvery: Int?) {
        self.context = context
        self.crashEvery = crashEvery
    }

    func handle(_ request: Request, context requestContext: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = request.uri.path
        guard path != "/healthz" else { return try await next(request, requestContext) }
        let number = counter.next()
        context.breadcrumb("request", ["n": String(number), "method": "\(request.method)", "path": path])
        if let crashEvery, number % crashEvery == 0 {
            Trap.indexOutOfRange(reason: "request \(number) (--crash-every \(crashEvery))")
        }
        return try await next(request, requestContext)
    }

    private final class Counter: Sendable {
        private let value = Atomic<Int>(0)
        func next() -> Int { value.add(1, ordering: .relaxed).newValue }
    }
}

/// A real Swift trap: the process dies by SIGILL (x86_64) or SIGTRAP (arm64) and no Swift code
/// runs afterwards. The breadcrumb before it is what the crash report shows.
enum Trap {
    static func indexOutOfRange(reason: String) -> Never {
        Breadcrumbs.record("trapping", ["reason": reason])
        let replicas = ["primary", "replica"]
        // The index comes from the reason's length, so the optimiser cannot prove it in range
        // or drop the access: its result is used.
        let index = replicas.count + reason.utf8.count
        Breadcrumbs.record("unreachable", ["replica": replicas[index]])
        fatalError("the index out of range did not trap")
    }
}
