package store_test

import (
	"testing"

	"github.com/bc-chain/bc/pkg/store"
)

// FuzzParsePendingLine: any line of the pending log parses or is refused,
// never panics; what parses re-encodes to a line that parses the same.
func FuzzParsePendingLine(f *testing.F) {
	f.Add([]byte(`{"id":"0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e11","message":"hello","received":1}`))
	f.Add([]byte(`{"id":"0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e11","message":"a\nb <x>","received":18446744073709551615}`))
	f.Add([]byte(`{"id":"x","message":""}`))
	f.Add([]byte(`{"id":"0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e11","message":"m","received":1,"extra":2}`))
	f.Add([]byte(`{"id":"0b7c5e52-7a3d-4d55-9b0f-3c1c2f0`))
	f.Fuzz(func(t *testing.T, line []byte) {
		e, err := store.ParsePendingLine(line)
		if err != nil {
			return
		}
		again, err := store.ParsePendingLine(e.AppendJSON(nil))
		if err != nil || again != e {
			t.Fatalf("re-encoded entry differs: %+v vs %+v (%v)", e, again, err)
		}
	})
}
