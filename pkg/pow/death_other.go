//go:build !linux

package pow

import "syscall"

// deathSignal: only Linux can tie a child's life to its parent; elsewhere
// the SDK's watchdog alone ends a plugin whose host is gone (it polls for
// its parent).
func deathSignal() *syscall.SysProcAttr { return &syscall.SysProcAttr{} }
