import Testing
@testable import BulkheadForensics

/// Where a core went, from `kernel.core_pattern` and `kernel.core_uses_pid` (core(5)).
@Suite struct CoreDumpLocationTests {
    func location(_ pattern: String, usesPID: Bool = false, coredumpctl: Bool = false,
                  executable: String = "/usr/local/bin/orders-service-worker", cwd: String = "/srv/orders") -> CoreDumpLocation? {
        CoreDumpLocation.of(pattern: pattern, usesPID: usesPID, coredumpctlInstalled: coredumpctl, pid: 4242, signal: 11,
                            executable: executable, workingDirectory: cwd)
    }

    @Test func systemdCoredumpIsShownByCoredumpctl() {
        let systemd = "|/usr/lib/systemd/systemd-coredump %P %u %g %s %t %c %h"
        #expect(location(systemd, coredumpctl: true) == .coredumpctl)
        // Without coredumpctl there is nothing to point at; another handler is not ours to name.
        #expect(location(systemd, coredumpctl: false) == nil)
        #expect(location("|/usr/share/apport/apport -p%p -s%s -c%c", coredumpctl: true) == nil)
    }

    @Test func aPlainPatternIsAFileInTheWorkingDirectory() {
        #expect(location("core") == .file("/srv/orders/core"))
        #expect(location("core", usesPID: true) == .file("/srv/orders/core.4242"))
        #expect(location("core.%p", usesPID: true) == .file("/srv/orders/core.4242"))   // no second .PID
        #expect(location("core", cwd: "/") == .file("/core"))
        #expect(location("/var/crash/%e.%P.%s.core") == .file("/var/crash/orders-service-.4242.11.core"))
        #expect(location("/var/crash/100%%-%p") == .file("/var/crash/100%-4242"))
    }

    @Test func aNameOnlyTheKernelKnowsIsNotGuessed() {
        #expect(location("/var/crash/core.%t") == nil)   // the time of the dump
        #expect(location("/var/crash/core.%i") == nil)   // the crashing thread
        #expect(location("") == nil)
    }
}
