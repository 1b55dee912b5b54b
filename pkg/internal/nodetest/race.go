//go:build race

package nodetest

// RaceEnabled is true in binaries built with the race detector.
const RaceEnabled = true
