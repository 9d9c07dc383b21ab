import BulkheadConfig
import BulkheadPolicy
import Testing

@Suite("YAML syntax errors")
struct SyntaxErrorTests {
    @Test func unclosedFlowSequence() {
        let errors = ConfigLoader.check(yaml: "workers:\n  - name: a\n    command: [/bin/true\n  - name: b\n", file: testFile)
        #expect(errors.count == 1)
        #expect(errors.first?.keyPath == "")
        #expect(errors.first?.line == 4)
        #expect(errors.first?.description.hasPrefix("bulkhead.yaml:4: YAML syntax error at column ") == true)
    }

    @Test func mappingValueInsideAScalar() {
        #expect(problems("state_dir: /var/lib: x\n") == [
            "bulkhead.yaml:1: YAML syntax error at column 20: mapping values are not allowed in this context",
        ])
    }

    @Test func badIndentation() {
        let errors = ConfigLoader.check(yaml: "control:\n  mode: \"0660\"\n group: adm\n", file: testFile)
        #expect(errors.count == 1)
        #expect(errors.first?.line == 3)
        #expect(errors.first?.message.hasPrefix("YAML syntax error at column 2:") == true)
    }

    @Test func tabsAreNotIndentation() {
        let errors = ConfigLoader.check(yaml: "control:\n\tmode: \"0660\"\n", file: testFile)
        #expect(errors.map(\.line) == [2])
        #expect(errors.first?.message.contains("tab") == true, "\(errors)")
    }

    @Test func duplicateKeyNamesTheFirstOccurrence() {
        #expect(problems("state_dir: /a\nworkers: []\nstate_dir: /b\n") == [
            #"bulkhead.yaml:1: key "state_dir" appears more than once in one mapping"#,
        ])
    }

    @Test func undefinedAlias() {
        let errors = ConfigLoader.check(yaml: "workers:\n  - *nothing\n", file: testFile)
        #expect(errors.map(\.line) == [2])
        #expect(errors.first?.message.contains("undefined alias") == true)
    }

    @Test func moreThanOneDocument() {
        let errors = ConfigLoader.check(yaml: "workers: []\n---\nworkers: []\n", file: testFile)
        #expect(errors.map(\.line) == [2])
        #expect(errors.first?.message.contains("expected a single document") == true)
    }
}
