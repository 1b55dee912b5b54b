package node

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
)

// FuzzParseAddr: addresses parse or are refused; a parsed address is
// canonical (parsing it again gives itself) and never has port 0.
func FuzzParseAddr(f *testing.F) {
	for _, s := range []string{"localhost", "localhost:8080", "http://localhost:12346", "miner1", "[::1]:5", "http://[2001:db8::1]:7000", "10.0.0.1", "a:0", "http://u@h/p?q", "::::", "é.example:1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAddr(s)
		if err != nil {
			return
		}
		if a.Port() == 0 {
			t.Fatalf("%q gave port 0", s)
		}
		b, err := ParseAddr(string(a))
		if err != nil || b != a {
			t.Fatalf("%q → %q → %q, %v", s, a, b, err)
		}
	})
}

// FuzzAnnouncement: any announcement body decodes and is checked without
// panicking; one that passes is within the limits Check promises, and
// passes again once written and read back (as the inbox does).
func FuzzAnnouncement(f *testing.F) {
	f.Add([]byte(`{"from":"127.0.0.1:1","genesis":"` + zeros + `","height":3,"hash":"` + ones + `","blocks":["{}"]}`))
	f.Add([]byte(`{"height":-1}`))
	f.Add([]byte(`{"hash":"zz"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var a Announcement
		if json.Unmarshal(body, &a) != nil || a.Check() != nil {
			return
		}
		if a.Hash.IsZero() || len(a.Blocks) > MaxAnnouncedBlocks {
			t.Fatalf("Check passed %d blocks, tip %s", len(a.Blocks), a.Hash)
		}
		for _, b := range a.Blocks {
			if len(b) > chain.MaxLineBytes {
				t.Fatalf("Check passed a block of %d bytes", len(b))
			}
		}
		if a.From != "" {
			if p, err := ParseAddr(string(a.From)); err != nil || p == "" {
				t.Fatalf("Check passed from %q: %v", a.From, err)
			}
		}
		again, _ := json.Marshal(a)
		var b Announcement
		if err := json.Unmarshal(again, &b); err != nil || b.Check() != nil || b.Hash != a.Hash || len(b.Blocks) != len(a.Blocks) {
			t.Fatalf("an announcement that passed does not pass again once stored: %v", err)
		}
	})
}

// FuzzBook: any neighbour file decodes, and editing it keeps it encodable.
func FuzzBook(f *testing.F) {
	f.Add([]byte(`{"neighbours":["127.0.0.1:1"],"known":[{"addr":"a:1","failures":2}],"removed":[{"addr":"b:2","until":9}]}`))
	f.Add([]byte(`{"neighbours":null}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var b Book
		if json.Unmarshal(data, &b) != nil {
			return
		}
		b.Remove("127.0.0.1:1", time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC))
		var back Book
		if err := json.Unmarshal(b.Encode(), &back); err != nil {
			t.Fatalf("an edited book does not decode: %v", err)
		}
	})
}

const (
	zeros = "0000000000000000000000000000000000000000000000000000000000000000"
	ones  = "1111111111111111111111111111111111111111111111111111111111111111"
)
