import BulkheadSystem
import CLinux
import Glibc
import Testing

/// Inputs the fuzz targets (Fuzz/Targets, scripts/fuzz) made fail, kept as regression tests. Each
/// input sits inside a larger buffer whose bytes past the input differ, so reading past the end
/// shows as a wrong answer here too, not only under AddressSanitizer.
@Suite struct FuzzFindingsTests {
    /// Fuzz target `breadcrumbs`, an empty input: the header's dying stamp was read whatever the
    /// region's size.
    @Test func breadcrumbRegionShorterThanItsHeaderHasNoStamp() {
        var bytes = [UInt8](repeating: 0, count: 64)
        withUnsafeBytes(of: BH_CRUMB_MAGIC.littleEndian) { bytes.replaceSubrange(0..<4, with: $0) }
        bytes[4] = 1                                                  // capacity 1
        bytes.replaceSubrange(16..<24, with: [9, 9, 9, 9, 9, 9, 9, 9]) // dying_ns
        bytes.withUnsafeBytes { all in
            for count in [0, 1, 20, 23] {
                let contents = BreadcrumbFile.decode(UnsafeRawBufferPointer(rebasing: all[..<count]), limit: 8)
                #expect(contents.entries.isEmpty)
                #expect(contents.dyingStamp == 0, "a region of \(count) bytes")
            }
        }
    }

    nonisolated(unsafe) static var discarded: [Int32] = []

    /// Fuzz target `notify`: an SCM_RIGHTS header whose cmsg_len claims more than the ancillary
    /// buffer holds; its "fds" were read from past the buffer. Only the fds inside count.
    @Test func ancillaryDataIsReadOnlyWithinItsLength() {
        var control = [UInt8](repeating: 0, count: 128)
        func put<T>(_ value: T, at offset: Int) {
            withUnsafeBytes(of: value) { control.replaceSubrange(offset..<offset + $0.count, with: $0) }
        }
        put(UInt64(64), at: 0)              // cmsg_len: 16 + 12 fds
        put(Int32(SOL_SOCKET), at: 8)
        put(Int32(1), at: 12)               // SCM_RIGHTS
        for i in 0..<28 { put(Int32(1000 + i), at: 16 + 4 * i) }
        Self.discarded = []
        var datagram = bh_datagram()
        control.withUnsafeMutableBytes { buffer in
            bh_notify_read_control(buffer.baseAddress, 56, &datagram) { FuzzFindingsTests.discarded.append($0) }
        }
        // 56 bytes: a 16-byte header and 10 fds, 8 handed back and 2 discarded.
        #expect(datagram.fd_count == 8)
        #expect(Self.discarded == [1008, 1009])
    }

    /// The same, for credentials: a header that claims a `ucred` the buffer cut off gives none.
    @Test func truncatedCredentialsAreNotRead() {
        var control = [UInt8](repeating: 0xAB, count: 64)
        withUnsafeBytes(of: UInt64(28)) { control.replaceSubrange(0..<8, with: $0) }
        withUnsafeBytes(of: Int32(SOL_SOCKET)) { control.replaceSubrange(8..<12, with: $0) }
        withUnsafeBytes(of: Int32(2)) { control.replaceSubrange(12..<16, with: $0) }   // SCM_CREDENTIALS
        var datagram = bh_datagram()
        control.withUnsafeMutableBytes { buffer in
            bh_notify_read_control(buffer.baseAddress, 20, &datagram) { _ in }
        }
        #expect(datagram.has_credentials == 0)
    }
}
