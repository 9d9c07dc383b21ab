import BulkheadConfig
import Foundation
import Testing

@Suite("loading files")
struct LoadFileTests {
    @Test func missingFile() {
        #expect(ConfigLoader.check(path: "/nonexistent/bulkhead.yaml").map(\.description) == [
            "/nonexistent/bulkhead.yaml: cannot open the config: No such file or directory",
        ])
        #expect(throws: ConfigErrors.self) { try ConfigLoader.load(path: "/nonexistent/bulkhead.yaml") }
    }

    @Test func directoryIsNotAConfig() {
        #expect(ConfigLoader.check(path: "/etc").map(\.description) == ["/etc: is not a regular file"])
    }

    @Test func errorsNameThePathAsGiven() throws {
        let path = try temporaryFile("workers:\n  - name: w\n    command: [/bin/true]\n    instances: 0\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ConfigLoader.check(path: path).map(\.description) == ["\(path):4: workers[0].instances: must be at least 1 (got 0)"])
    }

    @Test func invalidUTF8IsReported() throws {
        let path = try temporaryFile(bytes: Array("workers: []\n# caf".utf8) + [0xE9, 0x0A])
        defer { try? FileManager.default.removeItem(atPath: path) }
        #expect(ConfigLoader.check(path: path).map(\.message) == ["is not UTF-8 text"])
    }

    @Test func validFileLoads() throws {
        let path = try temporaryFile("workers:\n  - name: w\n    command: [true]\n")
        defer { try? FileManager.default.removeItem(atPath: path) }
        let config = try ConfigLoader.load(path: path, options: ConfigOptions(searchPath: "/usr/bin:/bin"))
        #expect(config.workers.map(\.command) == [["true"]])
    }

    private func temporaryFile(_ text: String) throws -> String {
        try temporaryFile(bytes: Array(text.utf8))
    }

    private func temporaryFile(bytes: [UInt8]) throws -> String {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("bulkhead-config-\(UUID().uuidString).yaml").path
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        return path
    }
}
