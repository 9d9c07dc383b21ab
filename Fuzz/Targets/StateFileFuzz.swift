import BulkheadState

/// The durable state file (`state_dir/state.json`): a disk, a crash mid-rename on another
/// filesystem or a hand edit can leave anything there, and the next daemon reads it before it
/// supervises anything. Whatever the bytes, the reader says a document or why not; a document
/// it accepts writes out as bytes it reads back, and that writes out the same bytes again.
enum StateFileFuzz {
    @Sendable static func run(_ bytes: UnsafeRawBufferPointer) {
        guard let document = try? StateDocument.decode(Array(bytes)) else { return }
        let written = document.encoded()
        guard let again = try? StateDocument.decode(written) else { preconditionFailure("what the writer wrote must read back") }
        precondition(again.encoded() == written, "a state document must write out the same once read back")
    }
}
