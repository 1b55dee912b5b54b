package crashtest

import (
	"testing"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/powsdk"
)

// The test binary is every bc program, and two broken plugins besides.
func TestMain(m *testing.M) {
	proctest.Main(m, map[string]func(){
		"bc-pow-crashy": func() { powsdk.Serve(crashy{}) },
		"bc-pow-stuck":  func() { powsdk.Serve(stuck{}) },
	})
}

var fastGossip = nodetest.FastGossip
