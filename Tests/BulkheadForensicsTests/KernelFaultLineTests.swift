import BulkheadPolicy
import Testing
@testable import BulkheadForensics

/// The kernel's `/dev/kmsg` line about an unhandled fault, and what a C program's death is
/// explained with when it is all there is.
@Suite struct KernelFaultLineTests {
    @Test func recordedSegfaultLines() throws {
        let null = try #require(CrashFixtures.text(CrashFixtures.swiftCrashes + "/c/null.kmsg").flatMap { KernelFaultLine.parse($0) })
        #expect(null.program == "cworker")
        #expect(null.fault == .segfault(address: 0))
        #expect(null.stackPointer != nil && null.instructionPointer != nil)
        #expect(null.errorCode == 6)   // a write to a page that is not there
        #expect(null.image == "cworker")
        let wild = try #require(CrashFixtures.text(CrashFixtures.swiftCrashes + "/c/wild.kmsg").flatMap { KernelFaultLine.parse($0) })
        #expect(wild.fault == .segfault(address: 0x2bad_dead_b000))
    }

    @Test func shapesOfTheLine() {
        let trap = KernelFaultLine.parse("6,699,1725087271,-;traps: crashlab[29461] trap invalid opcode ip:7f209ccf9361 sp:7fff34ee8c00 error:0 in libswiftCore.so[2f9361,7f209ca00000+5d3000]")
        #expect(trap?.fault == .trap("invalid opcode") && trap?.pid == 29461 && trap?.image == "libswiftCore.so")
        #expect(trap?.stackPointer == 0x7fff_34ee_8c00 && trap?.errorCode == 0)
        let divide = KernelFaultLine.parse("traps: crashlab[30727] trap divide error ip:7f48ef207263 sp:7ffc68bdb4b8 error:0 in libc.so.6[3e263,7f48ef1ef000+156000]")
        #expect(divide?.fault == .trap("divide error"))
        // dmesg's form, and an older kernel's (no offset, no CPU).
        let dmesg = KernelFaultLine.parse("[ 1282.244717] prog[77]: segfault at 18 ip 0000000000401136 sp 00007ffc8f0c0b10 error 4 in prog[401000+1000]")
        #expect(dmesg?.fault == .segfault(address: 0x18) && dmesg?.pid == 77 && dmesg?.image == "prog")
        let protection = KernelFaultLine.parse("traps: prog[78] general protection fault ip:401136 sp:7ffc8f0c0b10 error:0 in prog[401000+1000]")
        #expect(protection?.fault == .generalProtection)
        for junk in ["", "hello", "prog[x]: segfault at 0", "prog[1]: segfault at zz ip 1", "usb 1-1: new device", "6,1,2,-;"] {
            #expect(KernelFaultLine.parse(junk) == nil, "\(junk)")
        }
    }

    static func cDeath(_ line: String?, pid: Int32? = nil, output: [OutputLine] = []) -> CrashExplanation {
        CrashExplainer.explain(DeathScene(termination: .signaled(signal: 11, coreDumped: false), output: output,
                                          kernelFaultLine: line, pid: pid))
    }

    @Test func theAddressSaysNullWildOrStack() {
        let null = Self.cDeath("prog[77]: segfault at 18 ip 0000000000401136 sp 00007ffc8f0c0b10 error 4 in prog[401000+1000]")
        #expect(null.headline == "null pointer dereference in prog (SIGSEGV)")
        #expect(null.kind == "null pointer dereference")
        #expect(null.detail("fault_address") == "0x18")
        let wild = Self.cDeath("prog[77]: segfault at 7f0000001000 ip 0000000000401136 sp 00007ffc8f0c0b10 error 6 in prog[401000+1000]")
        #expect(wild.headline == "invalid memory access at 0x7f0000001000 in prog (SIGSEGV)")
        let stack = Self.cDeath("prog[77]: segfault at 7ffc8f0bfff8 ip 0000000000401136 sp 00007ffc8f0c0000 error 6 in prog[401000+1000]")
        #expect(stack.headline == "stack overflow in prog (SIGSEGV)")
        // A non-canonical address reaches the process as 0: the kernel's words tell it apart.
        let protection = Self.cDeath("traps: prog[77] general protection fault ip:401136 sp:7ffc8f0c0b10 error:0 in prog[401000+1000]")
        #expect(protection.headline == "invalid memory access (a non-canonical address) in prog (SIGSEGV)")
    }

    @Test func anotherProcessesLineIsIgnored() {
        let line = "prog[77]: segfault at 0 ip 0000000000401136 sp 00007ffc8f0c0b10 error 4 in prog[401000+1000]"
        #expect(Self.cDeath(line, pid: 78).headline == "SIGSEGV (segmentation fault)")
        #expect(Self.cDeath(line, pid: 77).headline == "null pointer dereference in prog (SIGSEGV)")
    }

    @Test func theFingerprintKeepsNoAddress() {
        let one = Self.cDeath("prog[77]: segfault at 7f0000001000 ip 0000000000401136 sp 00007ffc8f0c0b10 error 6 in prog[401000+1000]",
                              output: [OutputLine(.stderr, "request 12 at 0x7f00 failed")])
        let two = Self.cDeath("prog[91]: segfault at 7f00000aa000 ip 0000000000401222 sp 00007ffd00000000 error 6 in prog[401000+1000]",
                              output: [OutputLine(.stderr, "request 13 at 0x7f31 failed")])
        #expect(one.fingerprintBasis == two.fingerprintBasis)
        #expect(one.fingerprintBasis == ["how:SIGSEGV", "said:request # at # failed"])
    }

    /// The kernel rate-limits its fault lines, so a crash loop's deaths come with and without
    /// one: the same bug must hash the same either way (the headline may say more).
    @Test func theFingerprintDoesNotDependOnTheKernelLine() {
        let output = [OutputLine(.stderr, "segfault: storing through a null pointer")]
        let with = Self.cDeath("prog[77]: segfault at 0 ip 0000000000401136 sp 00007ffc8f0c0b10 error 6 in prog[401000+1000]", output: output)
        let without = Self.cDeath(nil, output: output)
        #expect(with.headline != without.headline)
        #expect(with.fingerprintBasis == without.fingerprintBasis)
    }
}

@Suite struct KernelLineAgainstTheSignalTests {
    @Test func aLineAboutAnotherFaultIsIgnored() {
        let segfault = "prog[77]: segfault at 0 ip 0000000000401136 sp 00007ffc8f0c0b10 error 4 in prog[401000+1000]"
        let killed = CrashExplainer.explain(DeathScene(termination: .signaled(signal: 9, coreDumped: false), kernelFaultLine: segfault))
        #expect(killed.headline == "SIGKILL (killed)")
        let trap = "traps: prog[77] trap invalid opcode ip:401136 sp:7ffc8f0c0b10 error:0 in prog[401000+1000]"
        let ill = CrashExplainer.explain(DeathScene(termination: .signaled(signal: 4, coreDumped: false), kernelFaultLine: trap))
        #expect(ill.headline == "illegal instruction in prog (SIGILL)")
    }
}
