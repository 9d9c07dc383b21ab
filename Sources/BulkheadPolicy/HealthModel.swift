/// A worker's health checks (SPEC §2 `health`): what to probe and how often. Plain data; the
/// state of a running probe is `ProbeTracker`.
public struct HealthChecks: Equatable, Sendable {
    /// Passing it makes a starting instance `running` (ready), as `READY=1` does.
    public var ready: ProbeSpec?
    /// Failing it `failures` times in a row once ready kills the instance like a missed watchdog.
    public var live: ProbeSpec?

    public init(ready: ProbeSpec? = nil, live: ProbeSpec? = nil) {
        self.ready = ready
        self.live = live
    }

    public var isEmpty: Bool { ready == nil && live == nil }
}

/// Which of an instance's two probes.
public enum ProbeRole: String, Equatable, Hashable, Sendable, CaseIterable {
    case ready
    case live
}

/// One probe: the check and its timing. Defaults are Kubernetes' (period 10 s, timeout 1 s,
/// failure threshold 3, success threshold 1, no initial delay).
public struct ProbeSpec: Equatable, Sendable {
    public var check: ProbeCheck
    /// From the moment the probe may start (spawn, `READY=1`, or ready for a live probe).
    public var initialDelay: Duration
    /// From the start of one check to the start of the next.
    public var interval: Duration
    /// A check that has not answered by then failed.
    public var timeout: Duration
    /// Consecutive failures that count (live: the kill).
    public var failures: Int
    /// Consecutive passes that count (ready: the instance is ready).
    public var successes: Int

    public init(check: ProbeCheck, initialDelay: Duration = .zero, interval: Duration = .seconds(10), timeout: Duration = .seconds(1),
                failures: Int = 3, successes: Int = 1) {
        self.check = check
        self.initialDelay = initialDelay
        self.interval = interval
        self.timeout = timeout
        self.failures = failures
        self.successes = successes
    }
}

/// What a probe does.
public enum ProbeCheck: Equatable, Sendable, CustomStringConvertible {
    /// `GET` the target; a 2xx or 3xx status line passes.
    case http(ProbeTarget, path: String)
    /// A TCP connection is accepted.
    case tcp(ProbeTarget)
    /// The program exits 0, run in the instance's environment, user and cgroup.
    case exec([String])

    public var kind: String {
        switch self {
        case .http: return "http"
        case .tcp: return "tcp"
        case .exec: return "exec"
        }
    }

    /// As a person wrote it (`http://127.0.0.1:8080/healthz`, `tcp 127.0.0.1:6379`, `exec api-check`).
    public var description: String {
        switch self {
        case .http(let target, let path): return "http://\(target.authority)\(path)"
        case .tcp(let target): return "tcp \(target.authority)"
        case .exec(let argv): return "exec " + argv.joined(separator: " ")
        }
    }

    /// The check one instance runs: a port written `BASE+index` becomes BASE + the index.
    public func resolved(index: Int) -> ProbeCheck {
        switch self {
        case .http(let target, let path): return .http(target.resolved(index: index), path: path)
        case .tcp(let target): return .tcp(target.resolved(index: index))
        case .exec: return self
        }
    }
}

/// Where an http or tcp probe connects: a numeric address (no name lookup: it could block, and
/// a probe must say what it tests) and a port, which may grow with the instance's index so
/// every instance of a worker is probed on its own port.
public struct ProbeTarget: Equatable, Sendable {
    /// An IPv4 or IPv6 literal, without brackets.
    public var host: String
    public var port: Int
    /// `8000+index`: instance N is probed on port + N.
    public var portPlusIndex: Bool

    public init(host: String, port: Int, portPlusIndex: Bool = false) {
        self.host = host
        self.port = port
        self.portPlusIndex = portPlusIndex
    }

    public var isIPv6: Bool { host.contains(":") }

    /// `127.0.0.1:8080`, `[::1]:8080`, `127.0.0.1:8000+index`.
    public var authority: String {
        (isIPv6 ? "[\(host)]" : host) + ":\(port)" + (portPlusIndex ? "+index" : "")
    }

    public func resolved(index: Int) -> ProbeTarget {
        guard portPlusIndex else { return self }
        return ProbeTarget(host: host, port: port + index)
    }
}

/// The outcome of one check, as the mechanism saw it.
public struct ProbeResult: Equatable, Sendable {
    public var passed: Bool
    /// When the check ended.
    public var at: Instant
    public var latency: Duration
    /// `HTTP 200`, `connected`, `exit 0`, `connect: Connection refused`, `timed out after 500ms`.
    public var detail: String

    public init(passed: Bool, at: Instant, latency: Duration, detail: String) {
        self.passed = passed
        self.at = at
        self.latency = latency
        self.detail = detail
    }
}

/// One probe's state for `bulkhead status` (policy's `InstanceSnapshot`).
public struct ProbeStatus: Equatable, Sendable {
    public var role: ProbeRole
    public var check: ProbeCheck
    public var last: ProbeResult?
    public var consecutiveFailures: Int
    public var consecutiveSuccesses: Int
    /// A ready probe that has passed (it runs no more).
    public var done: Bool
}

/// A probe result kept for the crash report: the last checks before a death.
public struct ProbeObservation: Equatable, Sendable {
    public var role: ProbeRole
    public var check: ProbeCheck
    public var result: ProbeResult

    public init(role: ProbeRole, check: ProbeCheck, result: ProbeResult) {
        self.role = role
        self.check = check
        self.result = result
    }
}
