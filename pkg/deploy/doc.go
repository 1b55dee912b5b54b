// Package deploy is what installs bc as a service beyond the binaries: it
// generates the shell completions in contrib/completions from each binary's
// command-line model, and its tests check the systemd units in
// contrib/systemd (systemd-analyze verify and security, and each daemon
// started exactly as its unit starts it, with a fake NOTIFY_SOCKET) and
// make run's contrib/run-network.sh (Ctrl-C, failures named, FRESH=1).
package deploy
