@testable import BulkheadConfig
import BulkheadPolicy

/// The file name every in-memory config is given.
let testFile = "bulkhead.yaml"

/// Checks that do not depend on which programs this machine has.
let shapeOnly = ConfigOptions(checksExecutables: false)

/// Every error of `yaml`, one description a line, in the loader's order.
func problems(_ yaml: String, options: ConfigOptions = ConfigOptions(searchPath: "/usr/bin:/bin")) -> [String] {
    ConfigLoader.check(yaml: yaml, file: testFile, options: options).map(\.description)
}

/// The config `yaml` loads to (throws its errors).
func load(_ yaml: String, options: ConfigOptions = ConfigOptions(searchPath: "/usr/bin:/bin")) throws(ConfigErrors) -> SupervisorConfig {
    try ConfigLoader.parse(yaml: yaml, file: testFile, options: options)
}

/// A config of one worker `w` (running /bin/true) with `lines` added to it, each already indented
/// for the worker's mapping; the first added line is line 4 of the file.
func oneWorker(_ lines: String...) -> String {
    "workers:\n  - name: w\n    command: [/bin/true]\n" + lines.map { $0 + "\n" }.joined()
}

/// The root of the repository, from this file's path.
let repositoryRoot: String = {
    var parts = #filePath.split(separator: "/", omittingEmptySubsequences: false)
    parts.removeLast(3)  // Tests/BulkheadConfigTests/TestSupport.swift
    return parts.joined(separator: "/")
}()
