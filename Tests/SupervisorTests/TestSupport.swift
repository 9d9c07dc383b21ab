import BulkheadSystem
import Glibc

// Helpers for the supervisor's own unit tests (its parts without the event loop).

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// A fresh directory under /tmp, removed by `FileSystem.removeTree`.
func temporaryDirectory(_ label: String) throws -> String {
    var template = Array("/tmp/bulkhead-supervisor-tests-\(label)-XXXXXX".utf8CString)
    guard template.withUnsafeMutableBufferPointer({ mkdtemp($0.baseAddress!) }) != nil else {
        throw TestFailure("mkdtemp: \(SystemError.describe(errno))")
    }
    return String(decoding: template.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}
