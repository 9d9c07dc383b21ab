// Two goroutines write one map without a lock: the runtime's "fatal error: concurrent map
// writes", which cannot be recovered and prints every goroutine.
package main

import "fmt"

// REBUILD-PADDING

func record(seen map[int]int, base int) {
	for i := 0; ; i++ {
		seen[base+i%64] = i
	}
}

func main() {
	fmt.Println("tally: starting")
	seen := map[int]int{}
	go record(seen, 0)
	record(seen, 1000)
}
