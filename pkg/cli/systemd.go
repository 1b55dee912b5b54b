package cli

import (
	"github.com/coreos/go-systemd/v22/daemon"
)

// Ready tells systemd (Type=notify) that the daemon is serving. Without
// NOTIFY_SOCKET it does nothing.
func Ready(env *Env) {
	if ok, err := daemon.SdNotify(false, daemon.SdNotifyReady); err != nil {
		env.Log.Warn("could not notify systemd", "error", err)
	} else if ok {
		env.Log.Debug("notified systemd: ready")
	}
}

// Stopping tells systemd that the daemon is shutting down.
func Stopping() {
	_, _ = daemon.SdNotify(false, daemon.SdNotifyStopping)
}
