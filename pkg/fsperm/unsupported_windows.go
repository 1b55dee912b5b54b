package fsperm

// bc is Unix software: it relies on flock, fsync of directories, atomic
// rename over an open file and Unix sockets for its plugins. On Windows,
// run it in WSL. This declaration stops a Windows build with that advice
// rather than with an obscure type error.
var _ = bc_runs_on_Unix_only__on_Windows_use_WSL
