// A billing worker that dereferences a nil account: Go's nil pointer panic, with the
// [signal SIGSEGV …] line and one goroutine's trace.
package main

import "fmt"

// REBUILD-PADDING

type Account struct {
	Balance int
}

func charge(a *Account, amount int) {
	a.Balance -= amount
}

func main() {
	fmt.Println("billing: starting")
	accounts := map[string]*Account{"alice": {Balance: 10}}
	charge(accounts["bob"], 5)
	fmt.Println("billing: done")
}
