package verify_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/strategy"
	"github.com/bc-chain/bc/pkg/validate"
	"github.com/bc-chain/bc/pkg/verify"
)

func localVerifier(_ context.Context, p *chain.Params) (validate.Verifier, error) {
	return pow.Local{S: strategy.Default{}}, nil
}

// FuzzVerify: any input, chain file or /chain document, gives a verdict
// without panicking.
func FuzzVerify(f *testing.F) {
	data, err := os.ReadFile(filepath.Join("..", "validate", "testdata", "valid-default.chain"))
	if err != nil {
		f.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	f.Add(data)
	f.Add([]byte(`{"chain":[` + strings.Join(lines, ",") + `],"length":6}`))
	f.Add([]byte("{\n  \"chain\": [\n    " + strings.Join(lines, ",\n    ") + "\n  ]\n}"))
	f.Add([]byte(`{"length":1,"chain":[{"a":[{"b":"}"}]}]}`))
	f.Add([]byte(`{"chain":[`))
	f.Fuzz(func(t *testing.T, in []byte) {
		done := make(chan struct{})
		go func() {
			_, _ = verify.Verify(context.Background(), bytes.NewReader(in), validate.Options{}, localVerifier, nil)
			close(done)
		}()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			buf := make([]byte, 1<<20)
			n := runtime.Stack(buf, true)
			t.Fatalf("Verify hangs on %q\n%s", in, buf[:n])
		}
	})
}
