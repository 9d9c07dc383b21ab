import BulkheadPolicy

/// Reads what a worker takes in from files: `env_file` (one path or a list; `-/path` is
/// optional) and `credentials` (`NAME: /path`).
struct WorkerInputsReader {
    let diagnostics: Diagnostics

    func envFiles(_ field: Field) -> [Located<EnvFileReference>] {
        guard let items = diagnostics.list(field, of: "env files", scalarAllowed: true) else { return [] }
        var files: [Located<EnvFileReference>] = []
        for item in items {
            guard let text = diagnostics.nonEmptyString(item) else { continue }
            let optional = text.hasPrefix("-")
            let path = optional ? String(text.dropFirst()) : text
            guard path.hasPrefix("/") else {
                diagnostics.report(item.site, "\(quoted(path)) is not an absolute path (it must start with /; a leading - makes it optional)")
                continue
            }
            files.append(item.located(EnvFileReference(path: path, optional: optional)))
        }
        return files
    }

    func credentials(_ field: Field) -> [Located<CredentialSpec>] {
        guard let mapping = diagnostics.mapping(field, known: nil) else { return [] }
        var credentials: [Located<CredentialSpec>] = []
        for (name, value) in mapping.entries {
            guard CredentialSpec.isValidName(name) else {
                diagnostics.report(value.site, "\(quoted(name)) is not a credential name (a file name: printable ASCII without '/' or spaces, not . or ..)")
                continue
            }
            guard let path = diagnostics.absolutePath(value) else { continue }
            credentials.append(value.located(CredentialSpec(name: name, path: path)))
        }
        return credentials
    }
}
