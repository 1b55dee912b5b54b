package pow

import "syscall"

// deathSignal asks the kernel to SIGKILL the plugin when the thread that
// started it ends.
func deathSignal() *syscall.SysProcAttr { return &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL} }
