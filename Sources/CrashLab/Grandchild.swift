import CLinux
import Glibc

/// `--grandchild` / `--grandchild-setsid`: a long-lived `/bin/sleep 1000` that crashlab leaves
/// behind, to test that bulkhead reaps and kills what a worker spawns.
enum Grandchild {
    static let path = "/bin/sleep"
    static let arguments = ["sleep", "1000"]

    /// Prints `crashlab: grandchild PID` on stdout. The child gets crashlab's stdin, stdout and
    /// stderr (so it also holds the output pipes open, like a real leftover would) and nothing
    /// else; default signal dispositions and an empty mask (bh_spawn's clean start).
    static func spawn(_ scope: GrandchildScope) {
        let argv = arguments.map { strdup($0) } + [nil]
        let envp: [UnsafeMutablePointer<CChar>?] = [strdup("PATH=/usr/bin:/bin"), nil]
        defer { (argv + envp).forEach { free($0) } }

        var request = bh_spawn_request()
        request.stdin_fd = STDIN_FILENO
        request.stdout_fd = STDOUT_FILENO
        request.stderr_fd = STDERR_FILENO
        request.new_session = scope == .ownSession ? 1 : 0
        let result = path.withCString { path in
            argv.withUnsafeBufferPointer { argv in
                envp.withUnsafeBufferPointer { envp in
                    request.path = path
                    request.argv = argv.baseAddress
                    request.envp = envp.baseAddress
                    return bh_spawn(&request)
                }
            }
        }
        guard result.pid > 0 else {
            Output.note("cannot spawn the grandchild \(path): stage \(result.failed_stage), "
                + String(cString: strerror(result.error)))
            exit(CrashLabExit.environment)
        }
        Output.report("grandchild \(result.pid)")
    }
}
