import Yams

/// A mapping's entries after `<<` merge keys are applied and unknown keys are dropped (and reported).
struct MappingFields {
    let field: Field
    let entries: [(key: String, value: Field)]
    /// Keys written, known or not (a mapping of only unknown keys is not an empty one).
    let writtenCount: Int

    subscript(key: String) -> Field? {
        entries.first { $0.key == key }?.value
    }

    var site: Site { field.site }
}

extension Diagnostics {
    /// Reads `field` as a mapping that may hold `known` keys (nil: any key, as in `env`). A null
    /// value is an empty mapping.
    /// - Parameters:
    ///   - refused: keys that are known elsewhere but not allowed here, with the reason to give.
    ///   - ignoredPrefix: keys with this prefix are skipped (top-level `x-` keys hold YAML anchors).
    func mapping(_ field: Field, known: [String]?, refused: [String: String] = [:], ignoredPrefix: String? = nil) -> MappingFields? {
        if isNull(field.node) { return MappingFields(field: field, entries: [], writtenCount: 0) }
        guard case .mapping = field.node else {
            report(field.site, "expected a mapping, got \(describe(field.node))")
            return nil
        }
        var kept: [(key: String, value: Field)] = []
        let written = entries(of: field)
        for entry in written {
            if let ignoredPrefix, entry.key.hasPrefix(ignoredPrefix) { continue }
            if let reason = refused[entry.key] {
                report(entry.keySite, reason)
            } else if let known, !known.contains(entry.key) {
                let hint = Suggestion.closest(to: entry.key, in: known).map { "did you mean \(quoted($0))?" }
                    ?? "known keys: \(known.joined(separator: ", "))"
                report(entry.keySite, "unknown key (\(hint))")
            } else {
                kept.append((entry.key, entry.value))
            }
        }
        return MappingFields(field: field, entries: kept, writtenCount: written.count)
    }

    /// The entries of a mapping merged in by `<<`, each source expanded once per key path: an
    /// alias is the same node wherever it is used, and anchors that merge one another twice
    /// per level would otherwise expand exponentially (the "billion laughs" shape). A mapping's
    /// position is its identity (Yams drops the anchors once parsing is done).
    private func mergedEntries(of field: Field) -> [MappingEntry] {
        guard let mark = field.node.mark else { return entries(of: field) }
        let key = MergeSource(line: mark.line, column: mark.column, path: field.path)
        if let known = mergeCache[key] { return known }
        let found = entries(of: field)
        mergeCache[key] = found
        return found
    }

    /// Entries in file order with merge keys (`<<: *anchor`) expanded: a key written in the
    /// mapping itself wins over one brought in by `<<`, and an earlier merge source over a later one.
    private func entries(of field: Field) -> [MappingEntry] {
        guard case .mapping(let mapping) = field.node else { return [] }
        var written = Set<String>()
        for (key, _) in mapping where !isMergeKey(key) {
            if case .scalar(let scalar) = key { written.insert(scalar.string) }
        }
        var seen = Set<String>()
        var result: [MappingEntry] = []
        for (keyNode, valueNode) in mapping {
            if isMergeKey(keyNode) {
                let mergeField = field.child("<<", valueNode)
                let sources: [Node]
                switch valueNode {
                case .mapping: sources = [valueNode]
                case .sequence(let sequence): sources = Array(sequence)
                default:
                    report(mergeField.site, "a merge key takes a mapping or a list of mappings, got \(describe(valueNode))")
                    continue
                }
                for source in sources {
                    guard case .mapping = source else {
                        report(Field(node: source, path: mergeField.path).site, "a merge key takes mappings, got \(describe(source))")
                        continue
                    }
                    let merged = mergedEntries(of: Field(node: source, path: field.path))
                    for entry in merged where !written.contains(entry.key) && seen.insert(entry.key).inserted {
                        result.append(entry)
                    }
                }
                continue
            }
            guard case .scalar(let keyScalar) = keyNode else {
                let site = Field(node: keyNode, path: field.path).site
                report(site, "a key must be a name, not \(describe(keyNode))")
                continue
            }
            seen.insert(keyScalar.string)
            let value = field.child(keyScalar.string, valueNode)
            let keySite = Site(path: value.path, line: keyNode.mark?.line ?? 0, column: keyNode.mark?.column ?? 0)
            result.append(MappingEntry(key: keyScalar.string, keySite: keySite, value: value))
        }
        return result
    }
}

/// One key of a mapping as written (before unknown keys are dropped).
struct MappingEntry {
    let key: String
    let keySite: Site
    let value: Field
}

/// A merge source: a mapping's position and the key path it is merged under.
struct MergeSource: Hashable {
    let line: Int
    let column: Int
    let path: String
}

/// `<<` written plain: YAML's merge key. (A quoted `"<<"` is an ordinary key.)
private func isMergeKey(_ node: Node) -> Bool {
    guard case .scalar(let scalar) = node else { return false }
    return scalar.string == "<<" && (scalar.style == .plain || scalar.style == .any)
}
