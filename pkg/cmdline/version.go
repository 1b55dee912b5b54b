package cmdline

import (
	_ "embed"
	"runtime"
	"runtime/debug"
	"strings"
)

// release is bc's version (semantic versioning), kept in the VERSION file
// beside this one: a release bumps it and tags the commit v<release>.
//
//go:embed VERSION
var release string

// Release is bc's version, such as "0.9.0".
func Release() string { return strings.TrimSpace(release) }

// BuildInfo is what a binary knows of its making.
type BuildInfo struct {
	Release   string // bc's version
	Commit    string // the git commit it was built from (12 digits), if known
	Modified  bool   // built from a work tree with uncommitted changes
	GoVersion string
	Platform  string // GOOS/GOARCH
}

// Build returns the running binary's BuildInfo: the commit comes from the
// VCS stamp that go build writes into binaries built in a git work tree.
func Build() BuildInfo {
	b := BuildInfo{Release: Release(), GoVersion: runtime.Version(), Platform: runtime.GOOS + "/" + runtime.GOARCH}
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				b.Commit = s.Value[:min(12, len(s.Value))]
			case "vcs.modified":
				b.Modified = s.Value == "true"
			}
		}
	}
	return b
}

// VersionString is the version every --version prints after the
// program's name, as restic does: "0.9.0 (commit a3930c6e1f2b, go1.26.8
// linux/amd64)".
func VersionString() string {
	b := Build()
	var parts []string
	if b.Commit != "" {
		c := "commit " + b.Commit
		if b.Modified {
			c += " with changes"
		}
		parts = append(parts, c)
	}
	parts = append(parts, b.GoVersion+" "+b.Platform)
	return b.Release + " (" + strings.Join(parts, ", ") + ")"
}
