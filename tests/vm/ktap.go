package vm

import (
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
)

var (
	ktapPlanRE   = regexp.MustCompile(`^1\.\.(\d+)$`)
	ktapResultRE = regexp.MustCompile(`^(not ok|ok) (\d+)\b(.*)$`)
)

// ktapVerdict checks a guest's top-level KTAP output: a plan, as many
// results as planned, none of them "not ok".
func ktapVerdict(path string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	plan, results := -1, 0
	var failed []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimRight(line, "\r")
		if m := ktapPlanRE.FindStringSubmatch(line); m != nil {
			plan, _ = strconv.Atoi(m[1])
			continue
		}
		if m := ktapResultRE.FindStringSubmatch(line); m != nil {
			results++
			if m[1] == "not ok" && !strings.Contains(m[3], "# SKIP") {
				failed = append(failed, line)
			}
		}
	}
	switch {
	case plan < 0:
		return fmt.Errorf("no KTAP plan in %s", path)
	case len(failed) > 0:
		return fmt.Errorf("%s", strings.Join(failed, "; "))
	case results != plan:
		return fmt.Errorf("%d of %d planned results", results, plan)
	}
	return nil
}
