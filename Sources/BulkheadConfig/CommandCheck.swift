import BulkheadPolicy

extension Diagnostics {
    /// Reports `command[0]` when it names no executable file, looked up the way the daemon will
    /// run it: on the worker's `env.PATH` if it sets one, else on `searchPath`.
    func checkExecutable(_ command: Located<[Located<String>]>, env: [EnvironmentEntry], cwd: String?, searchPath: String?, asWarning: Bool = false) {
        let report: (Site, String) -> Void = asWarning ? warn : self.report
        guard let program = command.value.first else { return }
        let workerPath = env.last { $0.key == "PATH" }?.value
        let name = program.value
        switch lookUpExecutable(name, path: workerPath ?? searchPath, cwd: cwd) {
        case .found:
            return
        case .empty:
            report(program.site, "is empty: give the program to run")
        case .missing(let file):
            report(program.site, "\(quoted(file)) does not exist")
        case .notAFile(let file):
            report(program.site, "\(quoted(file)) is not a regular file")
        case .notExecutable(let file):
            report(program.site, "\(quoted(file)) is not executable")
        case .relativeWithoutDirectory:
            report(program.site, "\(quoted(name)) is a relative path: give an absolute path, or set cwd to resolve it against")
        case .notOnPath(let searched):
            let source = workerPath == nil ? "PATH" : "the worker's env.PATH"
            report(program.site, "\(quoted(name)) was not found on \(source) (\(searched))")
        }
    }
}
