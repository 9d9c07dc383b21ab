// A shard picker indexes past the end of its slice: Go's bounds-check panic.
package main

import (
	"fmt"
	"os"
)

// REBUILD-PADDING

func pickShard(shards []string, key int) string {
	return shards[key%8]
}

func main() {
	shards := []string{"a", "b", "c"}
	fmt.Fprintln(os.Stderr, "router: 3 shards")
	fmt.Println(pickShard(shards, 13))
}
