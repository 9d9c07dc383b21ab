/// Text made fit for a fingerprint: the same bug hit again must give the same text, whatever
/// the addresses, pids, counts and indexes of this run (`index 7 out of range` and `index 9 out
/// of range` are one bug; `0x55bdb12a99b0` is where the heap happened to be).
enum FingerprintText {
    /// Lower case, with every hex address (`0x…`, and the runtime's `$55c40ac955e0`) and every
    /// run of digits replaced by `#`. Case goes too, because debug builds print `Arithmetic
    /// overflow` where release builds say `arithmetic overflow`.
    static func masked(_ text: String) -> String {
        var out = ""
        out.reserveCapacity(text.utf8.count)
        var rest = Substring(text)
        while let c = rest.first {
            let next = rest.dropFirst().first
            if c == "0", next == "x" || next == "X" {
                rest = rest.dropFirst(2).drop(while: \.isHexDigit)
                out += "#"
            } else if c == "$", rest.dropFirst().prefix(while: \.isHexDigit).count >= 6 {
                rest = rest.dropFirst().drop(while: \.isHexDigit)
                out += "#"
            } else if c.isASCIIDigitCharacter {
                rest = rest.drop(while: \.isASCIIDigitCharacter)
                out += "#"
            } else {
                out.append(contentsOf: c.lowercased())
                rest = rest.dropFirst()
            }
        }
        return out
    }

    /// `what:…`, `where:…` and `at:…` entries, so a message cannot pass for a site.
    static func entry(_ label: String, _ value: String) -> String {
        label + ":" + value
    }
}
