@testable import Supervisor
import BulkheadPolicy
import Testing

/// `NotifyMessage.parse`: one sd_notify datagram, hostile by assumption.
@Suite struct NotifyMessageTests {
    static func parse(_ text: String) -> NotifyMessage.Parsed {
        NotifyMessage.parse(Array(text.utf8)[...])
    }

    @Test func readyStatusAndWatchdogInOrder() {
        let parsed = Self.parse("READY=1\nSTATUS=serving 12 clients\nWATCHDOG=1\nWATCHDOG=trigger\n")
        #expect(parsed.notifications == [.ready, .status("serving 12 clients"), .watchdog, .watchdogTrigger])
        #expect(!parsed.barrier)
        #expect(parsed.errno == nil)
    }

    @Test func stoppingReloadingBarrierAndErrno() {
        let parsed = Self.parse("STOPPING=1\nRELOADING=1\nBARRIER=1\nERRNO=5")
        #expect(parsed.notifications == [.stopping, .reloading])
        #expect(parsed.barrier)
        #expect(parsed.errno == 5)
    }

    @Test func extendTimeoutTakesPositiveMicrosecondsUnderADay() {
        #expect(Self.parse("EXTEND_TIMEOUT_USEC=5000000").notifications == [.extendTimeout(.microseconds(5_000_000))])
        for bad in ["0", "-1", "86400000000", "99999999999999999999999", "5s", "", " 5", "0x10"] {
            #expect(Self.parse("EXTEND_TIMEOUT_USEC=" + bad).notifications.isEmpty, "EXTEND_TIMEOUT_USEC=\(bad)")
        }
    }

    @Test func valuesOtherThanTheProtocolsAreIgnored() {
        for text in ["READY=0", "READY=yes", "WATCHDOG=2", "WATCHDOG=", "STOPPING=true", "BARRIER=0", "ready=1", " READY=1", "READY =1"] {
            #expect(Self.parse(text).notifications.isEmpty, "\(text)")
            #expect(!Self.parse(text).barrier, "\(text)")
        }
    }

    @Test func unknownKeysGarbageAndEmptyLinesAreSkipped() {
        let parsed = Self.parse("\n\nMAINPID=1\nno equals sign\n=\n==\nFDSTORE=1\nX-CUSTOM=hi\nREADY=1\n\n")
        #expect(parsed.notifications == [.ready])
        #expect(Self.parse("").notifications.isEmpty)
        #expect(Self.parse("\n\n\n").notifications.isEmpty)
    }

    @Test func statusIsCutAt512Characters() {
        let parsed = Self.parse("STATUS=" + String(repeating: "x", count: 5000))
        #expect(parsed.notifications == [.status(String(repeating: "x", count: 512))])
        // An empty status is a status (it clears the previous one).
        #expect(Self.parse("STATUS=").notifications == [.status("")])
        // Only the first '=' splits.
        #expect(Self.parse("STATUS=a=b").notifications == [.status("a=b")])
    }

    @Test func invalidUTF8NeverTraps() {
        var bytes = Array("STATUS=ok ".utf8) + [0xFF, 0xFE, 0xC3] + Array("\nREADY=1\n".utf8)
        bytes += [0xE2, 0x82] + Array("=1\n".utf8)   // a key that is not UTF-8
        let parsed = NotifyMessage.parse(bytes[...])
        #expect(parsed.notifications.count == 2)
        #expect(parsed.notifications.last == .ready)
        if case .status(let text) = parsed.notifications.first {
            #expect(text.hasPrefix("ok "))
            #expect(text.unicodeScalars.contains("\u{FFFD}"))
        } else {
            Issue.record("no status: \(parsed.notifications)")
        }
    }

    @Test func aSliceThatDoesNotStartAtZeroParses() {
        let buffer = Array("xxxxREADY=1\nERRNO=12".utf8)
        let parsed = NotifyMessage.parse(buffer[4...])
        #expect(parsed.notifications == [.ready])
        #expect(parsed.errno == 12)
    }

    @Test func randomBytesNeverTrap() {
        var generator = SplitMix64(seed: 0x5EED)
        for _ in 0..<2000 {
            let length = Int(generator.next() % 300)
            var bytes = (0..<length).map { _ in UInt8(truncatingIfNeeded: generator.next()) }
            // Salt with the protocol's shape so keys and '=' and newlines occur.
            if length > 10 {
                bytes.replaceSubrange(0..<8, with: Array("STATUS=\n".utf8))
            }
            _ = NotifyMessage.parse(bytes[...])
        }
        let errnoOverflow = Self.parse("ERRNO=99999999999999")
        #expect(errnoOverflow.errno == nil)
    }
}

/// A small seeded generator: fuzz inputs are the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
