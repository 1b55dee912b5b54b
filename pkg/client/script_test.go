package client_test

import (
	"testing"

	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// The test binary is every bc program, so the scripts run real processes.
func TestMain(m *testing.M) { proctest.Main(m, nil) }

// bc-add's and bc-get's command lines, as a manual would show them:
// testdata/script.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }
