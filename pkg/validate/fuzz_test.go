package validate_test

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/bc-chain/bc/pkg/validate"
)

// FuzzVerifyReader: any input gives a verdict (valid, or a rule error, or a
// plugin/I/O error) without panicking; a valid verdict is stable when the
// same bytes are verified again.
func FuzzVerifyReader(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.chain")
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		res, err := validate.VerifyReader(context.Background(), bytes.NewReader(data), validate.Options{}, verifier, nil)
		if err != nil {
			return
		}
		if res.Blocks == 0 || res.Params == nil {
			t.Fatalf("valid verdict without blocks: %+v", res)
		}
		res2, err := validate.VerifyReader(context.Background(), bytes.NewReader(data), validate.Options{}, verifier, nil)
		if err != nil || res2.Tip != res.Tip {
			t.Fatalf("second verdict differs: %v", err)
		}
	})
}
