// A recursive descent with no depth limit: Rust's guard page catches the overflow and prints
// "thread 'main' has overflowed its stack" / "fatal runtime error: stack overflow", then aborts.

// REBUILD-PADDING

#[allow(unconditional_recursion)]
fn depth(node: u64, trail: &mut Vec<u64>) -> u64 {
    let frame = [node; 64];
    trail.push(frame[(node % 64) as usize]);
    1 + depth(node + 1, trail)
}

fn main() {
    println!("walker: descending");
    let mut trail = Vec::new();
    println!("{}", depth(0, &mut trail));
}
