import ArgumentParser

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
        throw DaemonProgram.exec(["check-config", path])
    }
}
