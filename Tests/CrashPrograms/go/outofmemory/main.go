// Caps its own address space at 1 GiB, then asks for more: the Go runtime's "fatal error:
// out of memory", preceded by its "runtime: out of memory: cannot allocate …" line.
package main

import (
	"fmt"
	"syscall"
)

// REBUILD-PADDING

func buildIndex(entries int) [][]byte {
	index := make([][]byte, 0, entries)
	for i := 0; i < entries; i++ {
		index = append(index, make([]byte, 64<<20))
	}
	return index
}

func main() {
	limit := syscall.Rlimit{Cur: 2 << 30, Max: 2 << 30}
	if err := syscall.Setrlimit(syscall.RLIMIT_AS, &limit); err != nil {
		panic(err)
	}
	fmt.Println("indexer: building")
	fmt.Println(len(buildIndex(1 << 20)))
}
