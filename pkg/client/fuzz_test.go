package client

import (
	"io"
	"testing"
)

// FuzzPrintHuman: whatever a node answers, bc-get's tables either render it
// or say it cannot, without panicking.
func FuzzPrintHuman(f *testing.F) {
	for _, c := range []struct{ what, raw string }{
		{"chain", `{"chain":[{"index":0,"timestamp":1,"data":[],"proof":0,"previous_hash":"","hash":""}],"length":1}`},
		{"data", `{"data":[{"id":"x","message":"a\nb","received":1}],"length":1}`},
		{"status", `{"id":"x","status":"mined","block":3,"confirmations":2}`},
		{"health", `{"status":"ok","height":3}`},
		{"neighbours", `{"neighbours":["a:1"]}`},
		{"block", `{"index":1}`},
	} {
		f.Add(c.what, []byte(c.raw))
	}
	f.Fuzz(func(t *testing.T, what string, raw []byte) {
		_ = printHuman(io.Discard, what, raw)
	})
}
