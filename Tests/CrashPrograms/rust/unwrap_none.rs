// A config loader calls `unwrap()` on a missing key: `called `Option::unwrap()` on a `None`
// value`, reported at the caller's line (track_caller).
use std::collections::HashMap;

// REBUILD-PADDING

fn listen_port(config: &HashMap<&str, u16>) -> u16 {
    *config.get("port").unwrap()
}

fn main() {
    let mut config = HashMap::new();
    config.insert("workers", 4);
    println!("config: {} keys", config.len());
    println!("listening on {}", listen_port(&config));
}
