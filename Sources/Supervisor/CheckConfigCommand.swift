import ArgumentParser
import BulkheadConfig
import BulkheadSystem

struct CheckConfigCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a config file without starting anything.",
        discussion: """
        Prints every error at once, each with its file, line and key. Exit code 0 when valid, 1 when not.
        Example:
          bulkhead check-config /etc/bulkhead/bulkhead.yaml
        """
    )

    @Argument(help: "The config file.")
    var path: String

    func run() throws {
        do {
            let config = try ConfigLoader.load(path: path)
            let instances = config.workers.reduce(0) { $0 + $1.instances }
            FileDescriptor.standardOutput.writeLine("\(path): valid (\(config.workers.count) workers, \(instances) instances)")
        } catch {
            FileDescriptor.standardError.writeLine("\(error)")
            throw ExitCode(1)
        }
    }
}
