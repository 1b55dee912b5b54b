//go:build !linux

package store

// flockHolder would name the process that holds a lock; outside Linux
// there is no /proc/locks to ask, so the caller says what the holder
// wrote in the lock file (its PID and program), which is all there is.
func flockHolder(string) int { return 0 }
