import Foundation
import Testing

/// Who may use the control socket: root, the daemon's user, members of `control.group`.
/// Creates real users and a group (the test run is root) and removes them afterwards.
@Suite("Control socket permissions", .serialized)
struct PermissionTests {
    /// A group and two users, one in it and one not; names unique to this test process.
    final class Accounts {
        let group: String
        let member: String
        let outsider: String
        private(set) var outsiderUID = 0

        init() throws {
            let tag = String(getpid())
            group = "bhgrp\(tag)"
            member = "bhin\(tag)"
            outsider = "bhout\(tag)"
            // Left over from an interrupted run of a process with the same pid: start clean.
            _ = try? Products.runTool("/usr/sbin/userdel", [member])
            _ = try? Products.runTool("/usr/sbin/userdel", [outsider])
            _ = try? Products.runTool("/usr/sbin/groupdel", [group])
            try Self.tool("/usr/sbin/groupadd", [group])
            try Self.tool("/usr/sbin/useradd", ["-M", "-N", "-s", "/usr/sbin/nologin", "-G", group, member])
            try Self.tool("/usr/sbin/useradd", ["-M", "-N", "-s", "/usr/sbin/nologin", outsider])
            outsiderUID = Int(getpwnam(outsider)?.pointee.pw_uid ?? 0)
        }

        deinit {
            _ = try? Products.runTool("/usr/sbin/userdel", [member])
            _ = try? Products.runTool("/usr/sbin/userdel", [outsider])
            _ = try? Products.runTool("/usr/sbin/groupdel", [group])
        }

        static func tool(_ path: String, _ arguments: [String]) throws {
            let status = try Products.runTool(path, arguments)
            guard status == 0 else { throw RawControlSocket.Failure(description: "\(path) \(arguments) exited \(status)") }
        }
    }

    static func config(mode: String, group: String) -> String {
        """
        control:
          mode: "\(mode)"
          group: \(group)
        workers:
          - name: idle
            command: [/bin/sleep, "1000"]
        """
    }

    @Test("socket open to all (0666): the daemon refuses a stranger by SO_PEERCRED (exit 4, logged) and serves a member")
    func daemonChecksPeers() throws {
        let accounts = try Accounts()
        let daemon = try DaemonHarness(Self.config(mode: "0666", group: accounts.group))
        try daemon.start()
        var info = stat()
        #expect(stat(daemon.socketPath, &info) == 0)
        #expect(info.st_mode & 0o777 == 0o666)
        #expect(getgrgid(info.st_gid).map { String(cString: $0.pointee.gr_name) } == accounts.group)

        let refused = try daemon.cli(["status"], user: accounts.outsider)
        #expect(refused.code == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("permission denied"))
        #expect(refused.stderr.contains(accounts.group))
        #expect(refused.stdout.isEmpty)
        try daemon.waitForLine(what: "the refusal is logged") {
            $0.contains("control connection refused: permission denied for uid \(accounts.outsiderUID)") && $0.contains(" pid ")
        }
        // Every command is refused, not just status.
        #expect(try daemon.cli(["stop", "all"], user: accounts.outsider).code == 4)
        #expect(try daemon.statusJSON().instances["idle:0"]?["state"] as? String == "running")

        let served = try daemon.cli(["status"], user: accounts.member)
        #expect(served.code == 0, "\(served.stderr)")
        #expect(served.stdout.contains("idle:0"))
        try daemon.stop()
    }

    @Test("socket 0660 root:group: a stranger cannot even connect (exit 4); a member is served")
    func fileModeKeepsStrangersOut() throws {
        let accounts = try Accounts()
        let daemon = try DaemonHarness(Self.config(mode: "0660", group: accounts.group))
        try daemon.start()
        let refused = try daemon.cli(["status"], user: accounts.outsider)
        #expect(refused.code == 4, "\(refused.stderr)")
        #expect(refused.stderr.contains("permission denied on \(daemon.socketPath)"))
        let served = try daemon.cli(["status"], user: accounts.member)
        #expect(served.code == 0, "\(served.stderr)")
        try daemon.stop()
    }
}
