// Package fsperm tells whether a file or directory could be changed by
// another user than the one running bc, as ssh's StrictModes does for
// ~/.ssh: bc warns about a chain directory others can write, and refuses
// to run a proof-of-work plugin another user could replace (a plugin runs
// with the user's rights).
package fsperm

import (
	"bufio"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// Exposure returns "" when nobody but the owner (and root) can change path,
// else a sentence that says who can. It looks at path itself, not at the
// directories above it (see PathExposure).
//
//   - owned by another user than uid (root excepted: root can change
//     anything anyway);
//   - writable by others, unless it is a sticky directory (like /tmp, where
//     others cannot replace what is not theirs);
//   - writable by its group, when that group has members besides uid (a
//     user's private group, the default of most Linux systems, does not
//     count).
func Exposure(path string, uid int) string {
	st, err := os.Stat(path)
	if err != nil {
		return ""
	}
	sys, ok := st.Sys().(*syscall.Stat_t)
	if !ok {
		return ""
	}
	mode := st.Mode()
	switch {
	case int(sys.Uid) != uid && sys.Uid != 0:
		return fmt.Sprintf("%s is owned by user %d, not by this user (%d)", path, sys.Uid, uid)
	case mode.IsDir() && mode&fs.ModeSticky != 0:
		return ""
	case mode.Perm()&0o002 != 0:
		return fmt.Sprintf("%s is writable by every user (mode %04o)", path, mode.Perm())
	case mode.Perm()&0o020 != 0:
		if others := groupMembers(int(sys.Gid), uid); len(others) > 0 {
			return fmt.Sprintf("%s is writable by its group (mode %04o), which has other members (%s)", path, mode.Perm(), strings.Join(others, ", "))
		}
	}
	return ""
}

// PathExposure checks path and every directory above it up to the root,
// both as given and with symlinks resolved: someone who can rename an
// entry of any of those directories can replace what path runs.
func PathExposure(path string, uid int) string {
	paths := []string{path}
	if real, err := filepath.EvalSymlinks(path); err == nil && real != path {
		paths = append(paths, real)
	}
	for _, start := range paths {
		abs, err := filepath.Abs(start)
		if err != nil {
			continue
		}
		for p := abs; ; p = filepath.Dir(p) {
			if why := Exposure(p, uid); why != "" {
				return why
			}
			if p == filepath.Dir(p) {
				break
			}
		}
	}
	return ""
}

// groupMembers lists the users other than uid in group gid: those whose
// primary group it is (/etc/passwd) and its listed members (/etc/group).
// When those files cannot be read it answers "unknown users", erring on
// the side of caution.
func groupMembers(gid, uid int) []string {
	self := ""
	var out []string
	seen := map[string]bool{}
	passwd, err := os.Open("/etc/passwd")
	if err != nil {
		return []string{"unknown users"}
	}
	defer passwd.Close()
	sc := bufio.NewScanner(passwd)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 {
			continue
		}
		u, _ := strconv.Atoi(f[2])
		g, _ := strconv.Atoi(f[3])
		if u == uid {
			self = f[0]
			continue
		}
		if g == gid && !seen[f[0]] {
			seen[f[0]] = true
			out = append(out, f[0])
		}
	}
	group, err := os.Open("/etc/group")
	if err != nil {
		return append(out, "unknown users")
	}
	defer group.Close()
	sc = bufio.NewScanner(group)
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || f[2] != strconv.Itoa(gid) || f[3] == "" {
			continue
		}
		for _, m := range strings.Split(f[3], ",") {
			if m != self && !seen[m] {
				seen[m] = true
				out = append(out, m)
			}
		}
	}
	return out
}
