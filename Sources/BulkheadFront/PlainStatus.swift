/// `bulkhead status [NAME…] [--json] [--socket PATH]`, and nothing else: whatever this does not
/// recognise (another command, --help, a typo) goes to the full CLI, which parses it properly.
struct PlainStatus {
    var names: [String] = []
    var json = false
    var socket: String?

    init?(_ arguments: [String]) {
        guard arguments.count >= 2, arguments[1] == "status" else { return nil }
        var index = 2
        while index < arguments.count {
            let argument = arguments[index]
            if argument == "--json" {
                json = true
            } else if argument == "--socket", index + 1 < arguments.count, !arguments[index + 1].hasPrefix("-") {
                socket = arguments[index + 1]
                index += 1
            } else if argument.hasPrefix("--socket=") {
                socket = String(argument.dropFirst("--socket=".count))
            } else if argument.hasPrefix("-") || argument.isEmpty {
                return nil
            } else {
                names.append(argument)
            }
            index += 1
        }
    }
}
