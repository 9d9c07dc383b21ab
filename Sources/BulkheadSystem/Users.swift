import CLinux
import Glibc

/// NSS lookups, done by the supervisor before a spawn (the child may not call NSS).
public enum Users {
    public struct Identity: Sendable, Equatable {
        public var uid: UInt32
        public var gid: UInt32
        public var groups: [UInt32]
    }

    public static func lookup(user: String) throws(SystemError) -> Identity {
        var uid: uid_t = 0
        var gid: gid_t = 0
        var groups = [gid_t](repeating: 0, count: 256)
        var count: Int32 = 256
        let rc = groups.withUnsafeMutableBufferPointer { bh_lookup_user(user, &uid, &gid, $0.baseAddress, &count) }
        if rc == -ENOENT { throw SystemError(ENOENT, "unknown user \"\(user)\"") }
        _ = try check("getpwnam \(user)", rc)
        return Identity(uid: uid, gid: gid, groups: Array(groups.prefix(Int(count))))
    }

    public static func lookup(group: String) throws(SystemError) -> UInt32 {
        var gid: gid_t = 0
        let rc = bh_lookup_group(group, &gid)
        if rc == -ENOENT { throw SystemError(ENOENT, "unknown group \"\(group)\"") }
        _ = try check("getgrnam \(group)", rc)
        return gid
    }

    public static func isMember(uid: UInt32, ofGroup gid: UInt32) -> Bool {
        bh_user_in_group(uid, gid) == 1
    }

    public static var effectiveUID: UInt32 { geteuid() }
}
