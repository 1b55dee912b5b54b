//go:build arm64 && !purego

package sha256block

import "golang.org/x/sys/cpu"

// stdlibAccelerated: crypto/sha256 uses the SHA2 instructions when the CPU
// has them.
var stdlibAccelerated = cpu.ARM64.HasSHA2
