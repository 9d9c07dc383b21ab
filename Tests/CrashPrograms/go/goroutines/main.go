// Starts N goroutines (argv[1], default 2000) that block, then panics in main: with
// GOTRACEBACK=all the trace holds every goroutine, the crashing one first.
package main

import (
	"fmt"
	"os"
	"strconv"
	"sync"
)

// REBUILD-PADDING

func wait(ready *sync.WaitGroup, block chan struct{}) {
	ready.Done()
	<-block
}

func settle(pending int) {
	if pending > 0 {
		panic(fmt.Sprintf("settlement left %d transfers pending", pending))
	}
}

func main() {
	n := 2000
	if len(os.Args) > 1 {
		n, _ = strconv.Atoi(os.Args[1])
	}
	var ready sync.WaitGroup
	block := make(chan struct{})
	for i := 0; i < n; i++ {
		ready.Add(1)
		go wait(&ready, block)
	}
	ready.Wait()
	settle(n)
}
