// Package benchreport is `make bench`: a test (TestReport, skipped unless
// -report is given) that measures every performance figure bc promises with
// the real binaries in bin/, next to its comparison measured in the same run
// (openssl, sha256sum, the seed's published behaviour), and writes them as
// one markdown table to contrib/bench/report.md and stdout.
package benchreport
