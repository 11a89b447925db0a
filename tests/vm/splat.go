package vm

import (
	"bufio"
	"os"
	"strings"
)

// splatMarkers are what a kernel prints when something went wrong that
// does not stop the test binary: any of them fails the run.
var splatMarkers = []string{
	"BUG:", "WARNING:", "Oops", "general protection", "refcount_t",
	"hung task", "list_del corruption", "UBSAN", "Kernel panic",
	"kernel BUG at", "KASAN", "Call Trace:",
}

// findSplat returns the first console line showing a splat, or "".
func findSplat(consoleLog string) (string, error) {
	f, err := os.Open(consoleLog)
	if err != nil {
		return "", err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		for _, m := range splatMarkers {
			if strings.Contains(line, m) {
				return strings.TrimSpace(line), nil
			}
		}
	}
	return "", sc.Err()
}
