/// The kernel's own line about a process killed by an unhandled fault (`debug.exception-trace`
/// on, the default), from `/dev/kmsg` (with its `6,693,1721854555,-;` prefix) or `dmesg`:
///
///     cworker[29030]: segfault at 0 ip 0000562d28094155 sp 00007ffd6483a360 error 6 in cworker[1155,562d28094000+1000] likely on CPU 0 (core 0, socket 0)
///     traps: crashlab[29461] trap invalid opcode ip:7f209ccf9361 sp:7fff34ee8c00 error:0 in libswiftCore.so[2f9361,7f209ca00000+5d3000]
///     traps: crashlab[30727] trap divide error ip:7f48ef207263 sp:7ffc68bdb4b8 error:0 in libc.so.6[3e263,7f48ef1ef000+156000]
///     traps: prog[77] general protection fault ip:… sp:… error:0 in prog[…]
///
/// (kernel 6.18, measured; the `likely on CPU` tail and the offset before the base are newer
/// kernels' additions). The kernel rate-limits these lines, so one may be missing.
struct KernelFaultLine: Equatable, Sendable {
    enum Fault: Equatable, Sendable {
        /// A page fault at this address (SIGSEGV).
        case segfault(address: UInt64)
        /// A general protection fault: a non-canonical address, which the kernel reports to the
        /// process as address 0, though it is no null pointer.
        case generalProtection
        /// A CPU trap by its kernel name: `invalid opcode` (SIGILL), `divide error` (SIGFPE),
        /// `int3` (SIGTRAP).
        case trap(String)
    }

    var program: String
    var pid: Int32
    var fault: Fault
    var instructionPointer: UInt64?
    var stackPointer: UInt64?
    /// The page-fault error code: bit 1 write, bit 4 instruction fetch.
    var errorCode: Int?
    /// The mapped file the instruction was in (`libc.so.6`, `cworker`).
    var image: String?

    /// The signal such a fault is delivered as, to check the line against the death.
    var signal: Int32? {
        switch fault {
        case .segfault, .generalProtection: return SignalWords.segmentationFault
        case .trap("invalid opcode"): return SignalWords.illegalInstruction
        case .trap("divide error"): return SignalWords.floatingPointException
        case .trap("int3"): return SignalWords.trap
        case .trap: return nil
        }
    }

    static func parse(_ raw: String) -> KernelFaultLine? {
        // /dev/kmsg: `priority,sequence,time,flags;message`; dmesg: `[  12.34] message`.
        var text = Substring(raw)
        if let semicolon = text.firstIndex(of: ";"), text[..<semicolon].allSatisfy(Self.isKmsgPrefix) {
            text = text[text.index(after: semicolon)...]
        }
        if text.hasPrefix("["), let close = text.firstIndex(of: "]") { text = text[text.index(after: close)...].drop { $0 == " " } }
        if text.hasPrefix("traps: ") { text = text.dropFirst("traps: ".count) }

        guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]"),
              let pid = Int32(text[text.index(after: open)..<close]) else { return nil }
        let program = String(text[..<open])
        var rest = text[text.index(after: close)...]
        if rest.hasPrefix(":") { rest = rest.dropFirst() }
        rest = rest.drop { $0 == " " }

        let fault: Fault
        if rest.hasPrefix("segfault at ") {
            let field = rest.dropFirst("segfault at ".count).prefix { $0 != " " }
            guard let address = UInt64(field, radix: 16) else { return nil }
            fault = .segfault(address: address)
        } else if rest.hasPrefix("general protection") {
            fault = .generalProtection
        } else if rest.hasPrefix("trap ") {
            let words = rest.dropFirst("trap ".count).split(separator: " ").prefix { !$0.hasPrefix("ip:") }
            fault = .trap(words.joined(separator: " "))
        } else {
            return nil
        }
        return KernelFaultLine(program: program, pid: pid, fault: fault,
                               instructionPointer: hexField(rest, "ip"), stackPointer: hexField(rest, "sp"),
                               errorCode: Int(field(rest, "error") ?? ""), image: image(rest))
    }

    /// The characters of `/dev/kmsg`'s record prefix (`6,693,1721854555,-`; flags `-`, `c`, `+`).
    private static func isKmsgPrefix(_ character: Character) -> Bool {
        character.isASCIIDigitCharacter || character == "," || character == "-" || character == "c" || character == "+"
    }

    /// `ip 0000562d28094155` (segfault lines) or `ip:7f209ccf9361` (trap lines).
    private static func hexField(_ text: Substring, _ name: String) -> UInt64? {
        field(text, name).flatMap { UInt64($0, radix: 16) }
    }

    private static func field(_ text: Substring, _ name: String) -> Substring? {
        for separator in [" ", ":"] {
            guard let range = text.firstRange(of: " " + name + separator) else { continue }
            let value = text[range.upperBound...].prefix { $0 != " " }
            if !value.isEmpty { return value }
        }
        return nil
    }

    /// `… in libc.so.6[3e263,7f48ef1ef000+156000]` → `libc.so.6`.
    private static func image(_ text: Substring) -> String? {
        guard let range = text.firstRange(of: " in ") else { return nil }
        let name = text[range.upperBound...].prefix { $0 != "[" && $0 != " " }
        return name.isEmpty ? nil : String(name)
    }
}

/// For the daemon's reader of `/dev/kmsg`, which keeps the fault lines of its workers until
/// their deaths are explained and drops every other record.
public enum KernelFaultRecord {
    /// The pid a record's fault line is about; nil for any other record.
    public static func pid(of record: String) -> Int32? {
        KernelFaultLine.parse(record)?.pid
    }
}
