// A shard router indexes past the end of its table: Rust's bounds-check panic
// (`index out of bounds: the len is 3 but the index is 5`), exit 101.

// REBUILD-PADDING

fn pick_shard(shards: &[&str], key: usize) -> String {
    shards[key % 8].to_string()
}

fn main() {
    let shards = vec!["a", "b", "c"];
    eprintln!("router: {} shards", shards.len());
    let key = std::env::args().count() + 12;
    println!("{}", pick_shard(&shards, key));
}
