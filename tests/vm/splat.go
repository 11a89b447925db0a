package vm

import (
	"bufio"
	"os"
	"regexp"
	"strings"
)

// splatMarkers are what a kernel prints when something went wrong that
// does not stop the test binary: any of them fails the run. The debug
// kernel's checkers (lockdep, KASAN, kmemleak, RCU) have their own.
var splatMarkers = []string{
	"BUG:", "WARNING:", "Oops", "general protection", "refcount_t",
	"hung task", "list_del corruption", "UBSAN", "Kernel panic",
	"kernel BUG at", "KASAN", "Call Trace",
	// lockdep and might_sleep
	"sleeping function called from invalid context",
	"possible circular locking", "possible recursive locking",
	"inconsistent lock state", "suspicious RCU usage",
	// kmemleak (kmemleak.verbose=1 prints the objects themselves)
	"unreferenced object", "suspected memory leaks",
	// RCU stalls: "rcu_sched self-detected stall on CPU",
	// "rcu: INFO: rcu_preempt detected stalls on CPUs/tasks"
	"self-detected stall", "detected stalls on CPUs", "detected expedited stalls",
	"hard LOCKUP", "blocked for more than",
}

// kernelStamp is the timestamp printk.time=1 puts before every kernel
// message: "[    2.718281] ". The test's own output shares the console
// (init tees it there) but carries no stamp, so a script that prints
// "WARNING:" does not fail itself. A kernel message may follow a test's
// unfinished line, so the stamp is looked for anywhere in a line, and only
// what follows it is scanned.
var kernelStamp = regexp.MustCompile(`\[ *[0-9]+\.[0-9]{6}\]`)

// kernelText is the kernel message of one console line, or "" when the
// line has none.
func kernelText(line string) string {
	loc := kernelStamp.FindStringIndex(line)
	if loc == nil {
		return ""
	}
	return line[loc[1]:]
}

// findSplat returns the first kernel message on the console showing a
// splat, or "".
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
		text := kernelText(line)
		for _, m := range splatMarkers {
			if strings.Contains(text, m) {
				return strings.TrimSpace(line), nil
			}
		}
	}
	return "", sc.Err()
}
