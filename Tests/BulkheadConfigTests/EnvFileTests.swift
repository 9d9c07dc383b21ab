@testable import BulkheadConfig
import BulkheadPolicy
import Testing

/// `EnvFile.parse`: systemd's EnvironmentFile= rules, table-driven, and its totality (any bytes
/// give variables or problems, never a trap).
@Suite("env_file parsing (systemd EnvironmentFile= rules)")
struct EnvFileTests {
    static func parsed(_ text: String) -> [String] {
        switch EnvFile.parse(Array(text.utf8)) {
        case .success(let entries): return entries.map { "\($0.key)=\($0.value)" }
        case .failure(let problems): return problems.problems.map { "! \($0)" }
        }
    }

    static let table: [(String, [String])] = [
        ("A=1\nB=two words\n", ["A=1", "B=two words"]),
        ("  A = spaced  \n", ["A=spaced"]),                          // blanks around the key and value go
        ("# comment\n; also a comment\n\nA=1\n", ["A=1"]),
        ("A=x # not a comment\n", ["A=x # not a comment"]),           // no trailing comments in systemd
        ("A='single $HOME \\n'\n", ["A=single $HOME \\n"]),           // literal
        ("A=\"dq \\\" \\\\ \\$ \\` \\n\"\n", ["A=dq \" \\ $ ` \\n"]),   // only \" \\ \$ \` are escapes
        ("A='multi\nline'\n", ["A=multi\nline"]),
        ("A=\"joined \\\nhere\"\n", ["A=joined here"]),               // backslash-newline joins
        ("A=un\\\nquoted\n", ["A=unquoted"]),
        ("A=back\\slash\n", ["A=backslash"]),                         // unquoted: backslash takes the next char
        ("A=\"x\"'y'z\n", ["A=xyz"]),                                 // parts run together
        ("A=\n", ["A="]),
        ("A=1\nA=2\n", ["A=2"]),                                      // the last one wins
        ("A=crlf\r\n", ["A=crlf"]),
        ("A=no newline at end", ["A=no newline at end"]),
        ("export A=1\n", ["! line 1: \"export A\" is not a valid variable name (letters, digits and _, not starting with a digit)"]),
        ("A=1\nnot an assignment\nB=2\n", ["! line 2: \"not an assignment\" has no '=' (expected KEY=VALUE)"]),
        ("1A=x\n", ["! line 1: \"1A\" is not a valid variable name (letters, digits and _, not starting with a digit)"]),
        ("A=1\nB=\"open\n", ["! line 2: a quote opened here is never closed"]),
        ("A='open", ["! line 1: a quote opened here is never closed"]),
        ("TRAILING", ["! line 1: \"TRAILING\" has no '=' (expected KEY=VALUE)"]),
        ("", []),
    ]

    @Test(arguments: table.indices)
    func systemdRules(_ index: Int) {
        let (text, expected) = Self.table[index]
        #expect(Self.parsed(text) == expected, "\(text.debugDescription)")
    }

    @Test func everyProblemIsReportedWithItsLine() {
        #expect(Self.parsed("OK=1\nbad line\n2X=y\nC='x") == [
            "! line 2: \"bad line\" has no '=' (expected KEY=VALUE)",
            "! line 3: \"2X\" is not a valid variable name (letters, digits and _, not starting with a digit)",
            "! line 4: a quote opened here is never closed",
        ])
    }

    @Test func nulAndInvalidUTF8AreProblems() {
        guard case .failure(let nul) = EnvFile.parse(Array("A=x\0y\n".utf8)) else { Issue.record("NUL accepted"); return }
        #expect(nul.problems.map(\.message) == ["contains a NUL byte (not a text file?)"])
        guard case .failure(let bad) = EnvFile.parse(Array("A=caf".utf8) + [0xE9, 0x0A]) else { Issue.record("bad UTF-8 accepted"); return }
        #expect(bad.problems.map(\.description) == ["line 1: the value of A is not UTF-8 text"])
    }

    /// The fuzz helper's target: any bytes, no trap, and a result that says something.
    @Test func anyBytesGiveAnAnswer() {
        var generator = SplitMix64(seed: 18)
        let alphabet = Array("AB_=\"'\\#; \t\r\n$`x9".utf8) + [0, 0xC3, 0xA9, 0xFF]
        for _ in 0..<2000 {
            let length = Int(generator.next() % 64)
            let bytes = (0..<length).map { _ in alphabet[Int(generator.next() % UInt64(alphabet.count))] }
            switch EnvFile.parse(bytes) {
            case .success(let entries):
                #expect(entries.allSatisfy { !$0.key.isEmpty })
            case .failure(let problems):
                #expect(!problems.problems.isEmpty && problems.problems.allSatisfy { $0.line >= 1 })
            }
        }
    }

    /// Found by the fuzz target `envfile`: a name longer than an error message shows was cut to
    /// 60 characters and an ellipsis in the environment.
    @Test func aLongNameIsKeptWhole() throws {
        let name = String(repeating: "p", count: 117)
        let entries = try EnvFile.parse(Array("\n\(name)=".utf8)).get()
        #expect(entries.map(\.key) == [name])
    }

    /// Found by the fuzz target `envfile` (its input, kept in Fuzz/corpus/envfile/open-quote-nul):
    /// a quote left open swallows the lines after it; the NUL found in one of them was listed
    /// before the open quote's own line.
    @Test func problemsAreInLineOrder() throws {
        let bytes = Array("# comment\n; also\nexport=1\nQ='singleA\n1X=2v\nK=a\\\"b\\|c".utf8) + [0, 0, 0, 0, 0, 0, 0, 0]
            + Array("ed\\\nline\n".utf8)
        guard case .failure(let found) = EnvFile.parse(bytes) else {
            Issue.record("an open quote and a NUL were accepted")
            return
        }
        let lines = found.problems.map(\.line)
        #expect(lines == lines.sorted(), "\(found.problems)")
        #expect(found.problems.contains { $0.message.contains("never closed") && $0.line == 4 })
        #expect(found.problems.contains { $0.message.contains("NUL") && $0.line == 6 })
    }
}
