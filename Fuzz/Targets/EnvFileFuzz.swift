import BulkheadConfig

/// An `env_file:` file: the operator's, or one a deploy tool wrote, any bytes at all.
/// Whatever the input, the reader says variables or line-numbered problems, and what it
/// accepts is what an environment can hold.
enum EnvFileFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        switch EnvFile.parse(Array(bytes)) {
        case .success(let entries):
            var keys = Set<String>()
            for entry in entries {
                precondition(keys.insert(entry.key).inserted, "a key appears once")
                precondition(isName(entry.key), "a key is a shell name")
                precondition(!entry.value.utf8.contains(0), "no NUL in a value")
            }
        case .failure(let problems):
            precondition(!problems.problems.isEmpty)
            let lines = problems.problems.map(\.line)
            precondition(lines == lines.sorted() && lines.allSatisfy { $0 >= 1 }, "problems in line order")
        }
    }

    private static func isName(_ key: String) -> Bool {
        guard let first = key.utf8.first, first == UInt8(ascii: "_") || isLetter(first) else { return false }
        return key.utf8.allSatisfy { $0 == UInt8(ascii: "_") || isLetter($0) || (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }
    }

    private static func isLetter(_ byte: UInt8) -> Bool {
        (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(byte) || (UInt8(ascii: "A")...UInt8(ascii: "Z")).contains(byte)
    }
}
