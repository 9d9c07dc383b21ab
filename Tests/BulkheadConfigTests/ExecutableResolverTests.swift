import BulkheadConfig
import Testing

@Suite("resolveExecutable")
struct ExecutableResolverTests {
    @Test func absolutePathIsTakenAsItIs() {
        #expect(resolveExecutable("/bin/sh", path: nil) == "/bin/sh")
        #expect(resolveExecutable("/bin/sh", path: "/nonexistent") == "/bin/sh")
        #expect(resolveExecutable("/nonexistent/sh", path: nil) == nil)
    }

    @Test func bareNameIsLookedUpOnPathInOrder() {
        #expect(resolveExecutable("sh", path: "/nonexistent:/usr/bin:/bin") == "/usr/bin/sh")
        #expect(resolveExecutable("sh", path: "/bin/:/usr/bin") == "/bin/sh")
        #expect(resolveExecutable("sh", path: "/nonexistent") == nil)
        #expect(resolveExecutable("sh", path: nil) != nil)  // the default PATH
    }

    @Test func relativePathEntriesAreSkipped() {
        // "" and "." mean the current directory to execvp; a supervisor must not run what sits there.
        #expect(resolveExecutable("sh", path: ":.:bin") == nil)
    }

    @Test func relativePathWithASlashResolvesAgainstCwd() {
        #expect(resolveExecutable("bin/sh", path: nil, cwd: "/usr") == "/usr/bin/sh")
        #expect(resolveExecutable("./sh", path: nil, cwd: "/bin/") == "/bin/./sh")
        #expect(resolveExecutable("bin/sh", path: "/usr/bin", cwd: nil) == nil)
    }

    @Test func onlyExecutableRegularFilesCount() {
        #expect(resolveExecutable("/etc/passwd", path: nil) == nil)
        #expect(resolveExecutable("/usr/bin", path: nil) == nil)
        #expect(resolveExecutable("bin", path: "/usr") == nil)
        #expect(resolveExecutable("", path: "/bin") == nil)
    }

    @Test func theDaemonsSpelling() {
        #expect(ConfigLoader.resolveExecutable("sh", path: "/bin", cwd: nil) == "/bin/sh")
    }
}
