// A ledger thread finds an inconsistency and panics with its own message; main joins the
// thread and unwraps the result, so two panics are printed: the worker thread's, then main's.
use std::thread;

// REBUILD-PADDING

fn reconcile(expected: i64, actual: i64) {
    if expected != actual {
        panic!("ledger out of balance: expected {} but found {}", expected, actual);
    }
}

fn main() {
    println!("ledger: reconciling");
    let worker = thread::Builder::new()
        .name("reconciler".to_string())
        .spawn(|| reconcile(1200, 1175))
        .unwrap();
    worker.join().unwrap();
}
