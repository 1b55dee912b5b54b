// Package crashtest holds the evidence that bc keeps working, loses nothing
// and lets no one in: its tests run real nodes and inflict crashes (SIGKILL
// at random moments, TestCrashLoop; `make soak` runs 1000 of them), faults
// (full disk, read-only directory, hand-damaged chain, dead lock holder,
// crashing and hanging plugins, peers vanishing mid-transfer), network
// partitions between network namespaces, and hostile peers and input.
package crashtest
