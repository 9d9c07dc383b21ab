import BulkheadJSON
import Testing

@Suite("JSON values")
struct JSONValueTests {
    @Test func literalsBuildTheMatchingCases() {
        let value: JSON = ["null": nil, "bool": true, "int": 42, "double": 1.5, "string": "s", "array": [1, "two"]]
        #expect(value["null"] == .null)
        #expect(value["bool"] == .bool(true))
        #expect(value["int"] == .int(42))
        #expect(value["double"] == .double(1.5))
        #expect(value["string"] == .string("s"))
        #expect(value["array"] == .array([.int(1), .string("two")]))
        let name = "api"
        let interpolated: JSON = "worker \(name):\(0)"
        #expect(interpolated == .string("worker api:0"))
    }

    @Test func objectsKeepInsertionOrder() {
        let literal: JSON = ["zeta": 1, "alpha": 2, "mid": 3]
        #expect(literal.object?.keys == ["zeta", "alpha", "mid"])
        let built = JSON.object([("id", .string("api:0")), ("pid", .int(7)), ("state", "running")])
        #expect(built.object?.keys == ["id", "pid", "state"])
        #expect(built.object?.values == [.string("api:0"), .int(7), .string("running")])
        #expect(built.encoded() == #"{"id":"api:0","pid":7,"state":"running"}"#)
    }

    @Test func objectsIterateAsPairs() {
        let object: JSONObject = ["b": 1, "a": [true]]
        var seen: [String] = []
        for (key, value) in object {
            seen.append("\(key)=\(value)")
        }
        #expect(seen == ["b=1", "a=[true]"])
        #expect(object.members == [JSONObject.Member(key: "b", value: 1), JSONObject.Member(key: "a", value: [true])])
    }

    @Test func repeatedKeysKeepTheLastValueAtTheFirstPosition() {
        let built = JSON.object([("a", 1), ("b", 2), ("a", 3)])
        #expect(built["a"] == .int(3))
        #expect(built.object?.keys == ["a", "b"])
        let literal: JSONObject = ["a": 1, "a": 2]
        #expect(literal.count == 1)
        #expect(literal["a"] == .int(2))
    }

    @Test func setReplacesInPlaceAndAppendsNewKeys() {
        var value: JSON = ["a": 1, "b": 2]
        let before = value
        value.set("a", "one")
        value.set("c", 3)
        #expect(value.encoded() == #"{"a":"one","b":2,"c":3}"#)
        // Value semantics: the copy taken before is unchanged.
        #expect(before.encoded() == #"{"a":1,"b":2}"#)
    }

    @Test func appendAddsToArrays() {
        var value: JSON = []
        value.append(1)
        value.append(["x": true])
        #expect(value == [1, ["x": true]])
    }

    @Test func subscriptsNeverTrap() {
        let value: JSON = ["list": [10, 20], "nested": ["deep": ["x": 1]]]
        #expect(value["list"]?[1] == .int(20))
        #expect(value["list"]?[2] == nil)
        #expect(value["list"]?[-1] == nil)
        #expect(value["nested"]?["deep"]?["x"]?.int == 1)
        #expect(value["missing"] == nil)
        #expect(value[0] == nil)
        #expect(JSON.string("s")["key"] == nil)
        #expect(JSON.null[0] == nil)
    }

    @Test func typedAccessors() {
        #expect(JSON.bool(true).bool == true)
        #expect(JSON.int(3).bool == nil)
        #expect(JSON.int(-5).int == -5)
        #expect(JSON.double(3.0).int == 3)
        #expect(JSON.double(3.5).int == nil)
        #expect(JSON.double(1e300).int == nil)
        #expect(JSON.int(7).double == 7.0)
        #expect(JSON.double(0.25).double == 0.25)
        #expect(JSON.string("x").string == "x")
        #expect(JSON.int(1).string == nil)
        #expect(JSON.array([1]).array == [.int(1)])
        #expect(JSON.object(["k": 1]).object?.count == 1)
        #expect(JSON.null.isNull)
        #expect(!JSON.bool(false).isNull)
    }

    @Test func integersOfAnyWidth() {
        #expect(JSON(Int32.min) == .int(Int64(Int32.min)))
        #expect(JSON(UInt64(Int64.max)) == .int(.max))
        #expect(JSON(UInt64.max) == .double(18_446_744_073_709_551_615.0))
    }

    @Test func structuralEquality() {
        #expect(JSON.int(1) != JSON.double(1.0))
        let ab: JSON = ["a": 1, "b": 2]
        let ba: JSON = ["b": 2, "a": 1]
        #expect(ab != ba)
        #expect(ab == ["a": 1, "b": 2])
    }

    @Test func largeObjectsStayConsistentThroughTheIndex() {
        var object = JSONObject()
        for number in 0..<100 {
            object.set("k\(number)", .int(Int64(number)))
        }
        object.set("k5", "five")
        #expect(object.count == 100)
        #expect(object["k5"] == .string("five"))
        #expect(object["k99"] == .int(99))
        #expect(object.removeValue(forKey: "k0") == .int(0))
        #expect(object.removeValue(forKey: "k0") == nil)
        #expect(object["k1"] == .int(1))
        #expect(object.keys.first == "k1")
        object["k1"] = nil
        object["new"] = 1
        #expect(object.keys.first == "k2")
        #expect(object.keys.last == "new")
        #expect(object.contains("new"))
        #expect(!object.contains("k1"))
        // Shrink back below the index threshold; lookups must still work.
        for number in 2..<95 {
            object["k\(number)"] = nil
        }
        #expect(object.keys == ["k95", "k96", "k97", "k98", "k99", "new"])
        #expect(object["k97"] == .int(97))
        #expect(Array(object.map(\.key)) == object.keys)
    }
}
