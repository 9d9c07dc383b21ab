/// The members of a JSON object: unique keys, kept in insertion order.
///
/// Order is kept because crash reports and status output are read by people. Keys are unique:
/// setting an existing key replaces its value in place, so a document with a repeated key reads
/// as the last value at the position of the first (as JavaScript's `JSON.parse` does).
///
/// Keys compare as JSON compares them, by their exact UTF-8 bytes, not by Swift's `String`
/// equality: `"é"` (U+00E9) and `"e\u{301}"` are different keys.
///
/// Small objects look keys up by a linear scan, which beats hashing at these sizes; past
/// ``indexThreshold`` members a hash index is kept, so large objects, hostile ones included,
/// stay linear to build.
public struct JSONObject: Sendable {
    /// A key and its value.
    public struct Member: Sendable {
        /// The key.
        public var key: String
        /// The value.
        public var value: JSON

        /// A member.
        public init(key: String, value: JSON) {
            self.key = key
            self.value = value
        }
    }

    /// The members in order. (A struct rather than a tuple: arrays of tuples copy through
    /// unspecialised runtime calls, which showed in parse profiles.)
    public private(set) var members: [Member]

    /// Key → position in `members`; kept only while `members.count > indexThreshold`.
    private var index: [HashKey: Int]?

    /// The member count above which lookups go through the hash index.
    static let indexThreshold = 12

    /// An empty object.
    public init() {
        members = []
    }

    /// An object with `members` in the order given; a repeated key keeps its last value at the
    /// position of its first.
    ///
    /// ```swift
    /// let limits = JSONObject([("memory", .int(bytes)), ("cpu", .double(share))])
    /// ```
    public init(_ members: [(String, JSON)]) {
        self.members = []
        self.members.reserveCapacity(members.count)
        for (key, value) in members {
            set(key, value)
        }
    }

    /// An object from parsed members, in order, which may repeat keys. For a small object the
    /// parser has compared key hashes: `mayRepeatKeys` false means no two keys can be equal.
    init(parsed members: [Member], mayRepeatKeys: Bool) {
        if members.count <= Self.indexThreshold, !mayRepeatKeys {
            self.members = members
            return
        }
        if members.count > Self.indexThreshold {
            var index = [HashKey: Int](minimumCapacity: members.count)
            var repeated = false
            for position in members.indices where index.updateValue(position, forKey: HashKey(members[position].key)) != nil {
                repeated = true
                break
            }
            if !repeated {
                self.members = members
                self.index = index
                return
            }
        }
        // Repeated keys (or possibly so): insert one by one, the last value winning.
        self.members = []
        self.members.reserveCapacity(members.count)
        for member in members {
            set(member.key, member.value)
        }
    }

    /// The number of members.
    public var count: Int { members.count }

    /// Whether there are no members.
    public var isEmpty: Bool { members.isEmpty }

    /// The keys in order.
    public var keys: [String] { members.map(\.key) }

    /// The values in order.
    public var values: [JSON] { members.map(\.value) }

    /// Whether `key` is a member.
    public func contains(_ key: String) -> Bool {
        position(of: key) != nil
    }

    /// The value for `key`, or `nil` when absent. Setting `nil` removes the member; setting a
    /// value behaves as ``set(_:_:)``.
    public subscript(key: String) -> JSON? {
        get {
            guard let position = position(of: key) else { return nil }
            return members[position].value
        }
        set {
            if let newValue {
                set(key, newValue)
            } else {
                removeValue(forKey: key)
            }
        }
    }

    /// Sets `key` to `value`: an existing key keeps its position, a new key goes last.
    public mutating func set(_ key: String, _ value: JSON) {
        if let position = position(of: key) {
            members[position].value = value
            return
        }
        members.append(Member(key: key, value: value))
        if index != nil {
            index?[HashKey(key)] = members.count - 1
        } else if members.count > Self.indexThreshold {
            rebuildIndex()
        }
    }

    /// Removes `key` and returns its value, or `nil` when it was absent.
    @discardableResult
    public mutating func removeValue(forKey key: String) -> JSON? {
        guard let position = position(of: key) else { return nil }
        let removed = members.remove(at: position).value
        if members.count > Self.indexThreshold {
            rebuildIndex()
        } else {
            index = nil
        }
        return removed
    }

    private func position(of key: String) -> Int? {
        if let index {
            return index[HashKey(key)]
        }
        return members.firstIndex { Self.sameKey($0.key, key) }
    }

    private mutating func rebuildIndex() {
        var index = [HashKey: Int](minimumCapacity: members.count)
        for (position, member) in members.enumerated() {
            index[HashKey(member.key)] = position
        }
        self.index = index
    }

    /// Whether two strings have the same UTF-8 bytes (JSON equality, not canonical equivalence).
    static func sameKey(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.count == rhs.utf8.count && lhs.utf8.elementsEqual(rhs.utf8)
    }

    /// A key hashed and compared by its UTF-8 bytes.
    private struct HashKey: Hashable, Sendable {
        let string: String

        init(_ string: String) {
            self.string = string
        }

        static func == (lhs: HashKey, rhs: HashKey) -> Bool {
            JSONObject.sameKey(lhs.string, rhs.string)
        }

        func hash(into hasher: inout Hasher) {
            let hashed: Void? = string.utf8.withContiguousStorageIfAvailable {
                hasher.combine(bytes: UnsafeRawBufferPointer($0))
            }
            if hashed == nil {
                for byte in string.utf8 {
                    hasher.combine(byte)
                }
            }
        }
    }
}

extension JSONObject.Member: Equatable {
    /// Equal when the keys have the same UTF-8 bytes and the values are equal.
    public static func == (lhs: JSONObject.Member, rhs: JSONObject.Member) -> Bool {
        JSONObject.sameKey(lhs.key, rhs.key) && lhs.value == rhs.value
    }
}

extension JSONObject: Equatable {
    /// Equal when both hold the same members (keys compared by UTF-8 bytes) in the same order.
    public static func == (lhs: JSONObject, rhs: JSONObject) -> Bool {
        lhs.members.count == rhs.members.count
            && lhs.members.elementsEqual(rhs.members)
    }
}

extension JSONObject: Sequence {
    /// Iterates the members in order as `(key, value)` pairs.
    public struct Iterator: IteratorProtocol {
        var base: IndexingIterator<[Member]>

        /// The next member.
        public mutating func next() -> (key: String, value: JSON)? {
            guard let member = base.next() else { return nil }
            return (member.key, member.value)
        }
    }

    /// Iterates the members in order as `(key, value)` pairs.
    public func makeIterator() -> Iterator {
        Iterator(base: members.makeIterator())
    }

    /// The number of members.
    public var underestimatedCount: Int { members.count }
}

extension JSONObject: ExpressibleByDictionaryLiteral {
    /// The members in the order written; a repeated key keeps its last value.
    public init(dictionaryLiteral elements: (String, JSON)...) {
        self.init(elements)
    }
}
