// Package version says which build of the tools is running: the module
// version and the commit they were built from, as the Go toolchain
// stamped them.
package version

import (
	"runtime/debug"
)

// described is `git describe` of the tree, stamped by the Makefile.
var described string

// Info is what `popcornctl version` and popcornd's build_info metric show.
type Info struct {
	Version  string `json:"version"`
	Describe string `json:"describe,omitempty"`
	Commit   string `json:"commit,omitempty"`
	Modified bool   `json:"modified,omitempty"`
	Go       string `json:"go"`
}

// Get reads the running binary's build information.
func Get() Info {
	info := Info{Version: "(unknown)", Describe: described}
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return info
	}
	info.Version, info.Go = bi.Main.Version, bi.GoVersion
	for _, s := range bi.Settings {
		switch s.Key {
		case "vcs.revision":
			info.Commit = s.Value
		case "vcs.modified":
			info.Modified = s.Value == "true"
		}
	}
	return info
}

func (i Info) String() string {
	s := i.Version
	if i.Describe != "" {
		s += " " + i.Describe
	}
	if i.Commit != "" {
		s += " " + i.Commit[:min(12, len(i.Commit))]
		if i.Modified {
			s += "+modified"
		}
	}
	return s + " " + i.Go
}
