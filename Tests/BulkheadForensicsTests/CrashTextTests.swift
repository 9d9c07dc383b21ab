import Testing
@testable import BulkheadForensics

@Suite struct CrashTextTests {
    @Test(arguments: [
        ("index out of range [5] with length 3", "index out of range [#] with length #"),
        ("free(): double free detected in tcache 2", "free(): double free detected in tcache #"),
        ("heap-use-after-free on address 0x606000000020 (READ of size 2)", "heap-use-after-free on address # (READ of size #)"),
        ("cannot load /etc/orders-9f3a/settings.toml: no defaults", "cannot load settings.toml: no defaults"),
        ("No such file or directory: '/etc/orders-9f3a/settings.toml'", "No such file or directory: 'settings.toml'"),
        ("request 3f2a9c1e-4b2e-11ee-be56-0242ac120002 failed", "request # failed"),
        ("request beefcafe-dead-beef-cafe-deadbeefcafe failed", "request # failed"),
        ("user-1234 token req_8f3kd92 on db-3.internal", "user-# token # on db-#.internal"),
        ("a/b and /x stay", "a/b and /x stay"),
        ("Cannot read properties of undefined (reading 'port')", "Cannot read properties of undefined (reading 'port')"),
        ("naïve café 42", "naïve café #"),
    ])
    func masks(_ pair: (String, String)) {
        #expect(CrashTextMask.mask(pair.0) == pair.1)
    }

    @Test func maskIsCapped() {
        let masked = CrashTextMask.mask(String(repeating: "word ", count: 1000))
        #expect(masked.utf8.count <= CrashTextMask.maxBytes)
    }

    @Test func sourceLocations() {
        #expect(SourceLocation.parse("src/main.rs:7:5") == SourceLocation(file: "src/main.rs", line: 7))
        #expect(SourceLocation.parse("node:internal/modules/cjs/loader:1521:14") == SourceLocation(file: "node:internal/modules/cjs/loader", line: 1521))
        #expect(SourceLocation.parse("file:///srv/app/main.mjs:3:9") == SourceLocation(file: "/srv/app/main.mjs", line: 3))
        #expect(SourceLocation.parse("main.go:14") == SourceLocation(file: "main.go", line: 14))
        #expect(SourceLocation.parse("Unknown Source") == nil)
        #expect(SourceLocation.parse("Native Method") == nil)
        #expect(SourceLocation.parse(":12") == nil)
        #expect(SourceLocation.display("/work/app/main.go") == "main.go")
        #expect(SourceLocation.display("./src/main.rs") == "src/main.rs")
        #expect(SourceLocation.display("src/main.rs") == "src/main.rs")
    }

    @Test func logRecordStarts() {
        for line in ["INFO:root:retrying", "2026-12-07 11:49:26 starting", "11:49:26.5 tick", "[worker] up", "{\"level\":\"info\"}",
                     "level=info msg=x", "WARNING: low disk", "ERROR something"] {
            #expect(LogRecord.starts(line), "\(line)")
        }
        for line in ["  left: 3", "port", "1 validation error for Settings", "INFORMATION is not a level", "Errno 2"] {
            #expect(!LogRecord.starts(line), "\(line)")
        }
    }

    @Test func headlineClip() {
        #expect(HeadlineText.clip("a\nb\r\n c") == "a b c")
        #expect(HeadlineText.clip(String(repeating: "x", count: 1000)).count == HeadlineText.maxMessage + 1)
    }

    @Test func byteSearch() {
        let line = "src/ticket.c:9:17: runtime error: signed integer overflow"
        let range = ByteSearch.range(of: ": runtime error: ", in: line)
        #expect(range.map { String(line[..<$0.lowerBound]) } == "src/ticket.c:9:17")
        #expect(ByteSearch.range(of: "absent", in: line) == nil)
        #expect(ByteSearch.range(of: "x", in: "") == nil)
    }
}
