// crashlab: a test worker for bulkhead whose command-line flags choose how it misbehaves.
// `crashlab --help` (Usage.swift) lists the flags; Lab.swift says in which order they act.

import Glibc

// Taken first, so `--after` and `--notify-ready DELAY` count from the moment the process runs.
let startNs = Clock.now()

switch CommandLineParser.parse(Array(CommandLine.arguments.dropFirst())) {
case .help:
    Output.write(Usage.text, to: STDOUT_FILENO)
    exit(0)
case .listKinds:
    // For scripts that run every kind (scripts/record-swift-crashes): one name a line.
    Output.write(DeathKind.catalogue.map { $0.name + "\n" }.joined(), to: STDOUT_FILENO)
    exit(0)
case .failure(let message):
    Output.write("crashlab: \(message)\nRun 'crashlab --help' for the flags.\n", to: STDERR_FILENO)
    exit(CrashLabExit.usage)
case .run(let options):
    // `throw-from-async-main` needs this to be a real `async throws` main: the error must leave
    // the top level so that the runtime itself traps on it.
    try await Lab(options: options, startNs: startNs).run()
}
