package store

import (
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// flockHolder returns the PID that holds a FLOCK on path, per /proc/locks
// ("1: FLOCK  ADVISORY  WRITE 4242 00:2a:123456 0 EOF"), or 0.
func flockHolder(path string) int {
	var st unix.Stat_t
	if unix.Stat(path, &st) != nil {
		return 0
	}
	data, err := os.ReadFile("/proc/locks")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 6 || f[1] != "FLOCK" {
			continue
		}
		id := strings.Split(f[5], ":")
		if len(id) != 3 {
			continue
		}
		ino, err := strconv.ParseUint(id[2], 10, 64)
		if err != nil || ino != st.Ino {
			continue
		}
		maj, _ := strconv.ParseUint(id[0], 16, 32)
		min, _ := strconv.ParseUint(id[1], 16, 32)
		if uint32(maj) != unix.Major(st.Dev) || uint32(min) != unix.Minor(st.Dev) {
			continue
		}
		pid, _ := strconv.Atoi(f[4])
		return pid
	}
	return 0
}
