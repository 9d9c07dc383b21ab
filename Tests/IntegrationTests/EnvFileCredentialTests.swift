import Foundation
import Testing

/// `env_file` and `credentials` with real processes: values reach the worker; a credential's
/// secret reaches it only as a file in its CREDENTIALS_DIRECTORY (0700/0400, owned by the
/// worker's user), and nowhere else: not in /proc/PID/environ, `status --json`, the crash
/// report, `bulkhead logs`, or anything bulkhead writes; the copy goes when the process does.
@Suite("env_file and credentials")
struct EnvFileCredentialTests {
    @Test func valuesReachTheWorkerAndTheSecretGoesNowhereElse() async throws {
        let secret = "s3cr3t-\(UUID().uuidString)"
        let secretDigest = try #require(sha256(secret))
        try await withDaemon("""
        workers:
          - name: app
            user: nobody
            command: [/bin/sh, -c, '\(Self.script)']
            env: { GREETING: from-env, ONLY_ENV: kept }
            env_file: [{{dir}}/app.env, "-{{dir}}/missing.env"]
            credentials: { db-password: {{dir}}/db-secret }
            backoff: { initial: 30s }
        """, prepare: { daemon in
            try "GREETING=\"from the env file\"\n# a comment\nQUOTED='a # b'\n".write(toFile: daemon.directory + "/app.env", atomically: true, encoding: .utf8)
            try secret.write(toFile: daemon.directory + "/db-secret", atomically: true, encoding: .utf8)
            chmod(daemon.directory + "/db-secret", 0o600)
        }) { daemon in
            let spawn = try await daemon.next("app:0", "spawn")
            let pid = try #require(DaemonHarness.spawnedPID(spawn.line))
            let said = try await daemon.nextLine(after: spawn.index, what: "the worker's report") { $0.hasPrefix("app:0 | digest ") }
            func value(_ key: String) -> String? {
                daemon.stdoutLines(of: "app:0", after: spawn.index).first { $0.hasPrefix(key + " ") }.map { String($0.dropFirst(key.count + 1)) }
            }
            try await daemon.nextLine(after: said.index, what: "the worker's last line") { $0.hasPrefix("app:0 | done") }
            #expect(value("greeting") == "from the env file", "the env file wins over env")
            #expect(value("quoted") == "a # b")
            #expect(value("only_env") == "kept")
            #expect(value("digest") == secretDigest, "the worker reads the secret from its file")
            let directory = try #require(value("directory"))
            #expect(directory.hasPrefix("/run/bulkhead/credentials-\(daemon.daemonPID)/app.0"), "\(directory)")
            #expect(value("modes") == "700 nobody 400 nobody", "dir and file: \(value("modes") ?? "nil")")

            // Nowhere else: the process's environment, status, the logs.
            // The worker execs `sleep` right after "done"; while an exec is under way the new
            // image's environment is not set up yet and /proc/PID/environ reads empty.
            let environPath = "/proc/\(pid)/environ"
            _ = await Processes.waitUntil { !((try? Data(contentsOf: URL(fileURLWithPath: environPath))) ?? Data()).isEmpty }
            let environ = (try? Data(contentsOf: URL(fileURLWithPath: environPath))) ?? Data()
            #expect(!environ.isEmpty, "could not read /proc/\(pid)/environ")
            #expect(String(decoding: environ, as: UTF8.self).contains("CREDENTIALS_DIRECTORY=\(directory)"))
            #expect(!String(decoding: environ, as: UTF8.self).contains(secret))
            let status = try await daemon.command(["status", "--json"])
            #expect(status.code == 0 && !status.stdout.contains(secret))
            let logs = try await daemon.command(["logs", "app", "-n", "1000"])
            #expect(logs.code == 0 && logs.stdout.contains("digest") && !logs.stdout.contains(secret), "\(logs.stdout)")

            // A crash: the report holds no secret, and the copy is gone with the process.
            kill(pid, SIGABRT)
            let exit = try await daemon.next("app:0", "exit", after: spawn.index)
            let report = try daemon.report(for: exit)
            let reportText = String(decoding: try JSONSerialization.data(withJSONObject: report), as: UTF8.self)
            #expect(report["class"] as? String == "crash")
            #expect(!reportText.contains(secret))
            #expect(!FileManager.default.fileExists(atPath: directory), "the credential copy outlived the process")
            #expect(!daemon.output.contains { $0.contains(secret) }, "a line bulkhead wrote holds the secret")
        }
    }

    /// Prints what it was given, hashes the credential (never prints it), then waits.
    static let script = [
        #"echo "greeting $GREETING""#, #"echo "quoted $QUOTED""#, #"echo "only_env $ONLY_ENV""#,
        #"echo "directory $CREDENTIALS_DIRECTORY""#,
        #"echo "modes $(stat -c "%a %U" "$CREDENTIALS_DIRECTORY") $(stat -c "%a %U" "$CREDENTIALS_DIRECTORY/db-password")""#,
        #"echo "digest $(sha256sum < "$CREDENTIALS_DIRECTORY/db-password" | cut -d" " -f1)""#,
        "echo done", "exec sleep 3600",
    ].joined(separator: "; ")

    func sha256(_ text: String) -> String? {
        let result = try? Products.runTool("/usr/bin/sha256sum", input: text)
        return result?.split(separator: " ").first.map(String.init)
    }
}

extension Products {
    /// A system tool with `input` on stdin; its stdout.
    static func runTool(_ path: String, _ arguments: [String] = [], input: String) throws -> String {
        let p = Process()
        p.executableURL = URL(fileURLWithPath: path)
        p.arguments = arguments
        let stdin = Pipe()
        let stdout = Pipe()
        p.standardInput = stdin
        p.standardOutput = stdout
        try p.run()
        stdin.fileHandleForWriting.write(Data(input.utf8))
        try stdin.fileHandleForWriting.close()
        let data = stdout.fileHandleForReading.readDataToEndOfFile()
        p.waitUntilExit()
        return String(decoding: data, as: UTF8.self)
    }
}
