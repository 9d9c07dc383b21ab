import BulkheadPolicy

/// Reads `sockets: [{ listen, name, mode, owner, group, backlog }]`.
struct SocketsReader {
    let diagnostics: Diagnostics

    func read(_ field: Field) -> [SocketSpec]? {
        guard let items = diagnostics.list(field, of: "sockets") else { return nil }
        if items.count > ConfigRanges.socketsPerWorker.upperBound {
            diagnostics.report(field.site, "\(items.count) sockets is above the maximum \(ConfigRanges.socketsPerWorker.upperBound) per worker")
            return nil
        }
        var sockets: [SocketSpec] = []
        var valid = true
        for item in items {
            if let socket = readSocket(item) { sockets.append(socket) } else { valid = false }
        }
        return valid ? sockets : nil
    }

    private func readSocket(_ field: Field) -> SocketSpec? {
        let d = diagnostics
        guard let mapping = d.mapping(field, known: WorkerKeys.socket) else { return nil }
        guard let listenField = mapping["listen"] else {
            d.report(field.site, "missing key \"listen\" (tcp://HOST:PORT, udp://HOST:PORT or unix:/PATH)")
            return nil
        }
        guard let text = d.nonEmptyString(listenField) else { return nil }
        let address: ListenAddress
        switch ListenAddress.parse(text) {
        case .success(let parsed): address = parsed
        case .failure(let error):
            d.report(listenField.site, "\(quoted(text)): \(error.message)")
            return nil
        }
        // The worker's name is filled in by the merge when no name is written.
        var socket = SocketSpec(address: address, name: "")
        var valid = true
        for (key, value) in mapping.entries {
            switch key {
            case "name":
                guard let name = d.nonEmptyString(value) else { valid = false; continue }
                // sd_listen_fds_with_names splits on ':'; systemd's fdname_is_valid.
                guard name.utf8.count <= 255, name.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7F && $0 != UInt8(ascii: ":") }) else {
                    d.report(value.site, "\(quoted(name)) is not a socket name (printable ASCII without spaces or ':', at most 255 bytes)")
                    valid = false
                    continue
                }
                socket.name = name
            case "mode", "owner", "group":
                guard case .unix = address else {
                    d.report(value.site, "only a unix socket has a file whose \(key) can be set")
                    valid = false
                    continue
                }
                if key == "mode" {
                    if let mode = d.fileMode(value) { socket.mode = mode } else { valid = false }
                } else if let name = d.nonEmptyString(value) {
                    if key == "owner" { socket.owner = name } else { socket.group = name }
                } else {
                    valid = false
                }
            case "backlog":
                if case .udp = address {
                    d.report(value.site, "a udp socket has no backlog (it is not listened on)")
                    valid = false
                } else if let backlog = d.int(value, in: ConfigRanges.socketBacklog) {
                    socket.backlog = backlog
                } else {
                    valid = false
                }
            default: break
            }
        }
        return valid ? socket : nil
    }
}

extension Diagnostics {
    /// A permission mode, always read as octal like chmod's: `"0660"`, `0660`, `660` and
    /// `0o660` all mean rw-rw----. (An unquoted `0660` would be decimal 660 to a YAML 1.2 reader
    /// and octal to a 1.1 one; reading the digits sidesteps both.)
    func fileMode(_ field: Field) -> UInt32? {
        guard let (text, _) = scalar(field, expected: "a file mode such as \"0660\"") else { return nil }
        let digits = text.hasPrefix("0o") ? text.dropFirst(2) : Substring(text)
        guard !digits.isEmpty, digits.allSatisfy({ ("0"..."7").contains($0) }),
              let mode = UInt32(digits, radix: 8), mode <= 0o777 else {
            report(field.site, "\(quoted(text)) is not a file mode (octal permission bits, e.g. \"0660\")")
            return nil
        }
        return mode
    }
}
