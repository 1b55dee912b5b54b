package client

import (
	"strings"
	"testing"
	"unicode"
)

// FuzzPrintHuman: whatever a node answers, bc-get's tables either render it
// or say it cannot, without panicking, and never pass a control character
// (an escape sequence) or invisible formatting through to the terminal.
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
	f.Add("neighbours", []byte(`{"neighbours":["\u001b]0;pwned\u0007evil:1","\u202eevil"]}`))
	f.Add("health", []byte(`{"\u001b[2J":"\u001b[31mred"}`))
	f.Fuzz(func(t *testing.T, what string, raw []byte) {
		var out strings.Builder
		if printHuman(&out, what, raw) != nil {
			return
		}
		for _, r := range out.String() {
			if r != '\n' && r != '\t' && (r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r)) {
				t.Fatalf("%s: a node's answer put %U on the terminal: %q", what, r, out.String())
			}
		}
	})
}
