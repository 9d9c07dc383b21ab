// A handler recovers a panic and panics again with more context: Go prints the chain
// ("panic: … [recovered]" then the new panic, indented).
package main

import (
	"errors"
	"fmt"
)

// REBUILD-PADDING

var errNoQuota = errors.New("quota exhausted for tenant 4711")

func reserve() {
	panic(errNoQuota)
}

func handle(request int) {
	defer func() {
		if r := recover(); r != nil {
			panic(fmt.Sprintf("request %d failed: %v", request, r))
		}
	}()
	reserve()
}

func main() {
	fmt.Println("quota: serving")
	handle(17)
}
