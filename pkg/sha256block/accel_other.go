//go:build !arm64 || purego

package sha256block

// stdlibAccelerated: only arm64 is known to gain (amd64 has this package's
// own SHA-NI search; elsewhere the portable code is as fast).
const stdlibAccelerated = false
