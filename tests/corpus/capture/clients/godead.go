// Go deadlocks for capture.py (no net import, so the runtime detects them).
package main

import (
	"os"
	"sync"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == "wg" {
		var wg sync.WaitGroup
		wg.Add(1)
		wg.Wait()
	}
	ch := make(chan int)
	ch <- 1
}
