package client

import (
	"bytes"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
	"text/tabwriter"
	"unicode/utf8"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/strategy"
)

// human renders an answer as bc-get does on a terminal.
func human(t *testing.T, what string, doc any) string {
	t.Helper()
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	tw := tabwriter.NewWriter(&out, 0, 4, pad, ' ', 0)
	if err := printHuman(tw, what, raw); err != nil {
		t.Fatal(err)
	}
	tw.Flush()
	for _, line := range strings.Split(out.String(), "\n") {
		if n := utf8.RuneCountInString(line); n > cmdline.Width {
			t.Errorf("bc-get %s: a line of %d columns:\n%s", what, n, line)
		}
	}
	return out.String()
}

var timeRE = regexp.MustCompile(`\d{4}-\d\d-\d\d \d\d:\d\d:\d\d`)

func TestHumanOutputFitsATerminal(t *testing.T) {
	b, err := chaintest.NewBuilder(strategy.Default{}, 8)
	if err != nil {
		t.Fatal(err)
	}
	long := strings.Repeat("a long message é ", 40)
	for i := range 3 {
		msgs := []string{long}
		if i == 1 {
			msgs = append(msgs, "two\nlines")
		}
		if _, err := b.Add(msgs...); err != nil {
			t.Fatal(err)
		}
	}
	blocks := b.Blocks
	out := human(t, "chain", map[string]any{"chain": blocks, "length": len(blocks)})
	if !strings.Contains(out, "(4 blocks)") || !strings.Contains(out, `2: "a long`) || !timeRE.MatchString(out) || !strings.Contains(out, "INDEX  TIME (UTC") {
		t.Fatalf("chain:\n%s", out)
	}
	if out := human(t, "chain", map[string]any{"chain": blocks[:1], "length": 1}); !strings.Contains(out, "(1 block)") {
		t.Fatalf("one block:\n%s", out)
	}

	out = human(t, "block", blocks[2])
	if !strings.Contains(out, "messages  2") || !strings.Contains(out, "    two\n    lines\n") || !regexp.MustCompile(`time +`+timeRE.String()+` UTC`).MatchString(out) {
		t.Fatalf("block:\n%s", out)
	}

	data := []map[string]any{{"id": chain.NewMessageID(long), "message": long, "received": 1796221835510}}
	out = human(t, "data", map[string]any{"data": data, "length": 12000, "truncated": true})
	if !strings.Contains(out, "(12000 messages pending, the oldest 1 shown)") || !strings.Contains(out, "RECEIVED (UTC") {
		t.Fatalf("data:\n%s", out)
	}

	h := map[string]any{"status": "degraded", "reason": "no neighbour is reachable: 127.0.0.1:12346 (/health: Get \"http://127.0.0.1:12346/health\": dial tcp 127.0.0.1:12346: connect: connection refused)",
		"height": 1, "tip": blocks[1].Hash, "genesis": blocks[0].Hash, "network": "bc", "strategy": "default", "difficulty": 8,
		"peers": 1, "pending": 1, "uptime_seconds": 68.724621572,
		"miner":   map[string]any{"running": true, "hash_rate": 54.5e6, "blocks_mined": 1},
		"gossip":  map[string]any{"running": true, "neighbours": 1, "reachable": 0, "blocks_adopted": 0, "reorgs": 1, "last_sync": 1796221835510},
		"version": "v1.2.3", "node_id": "19cd1a5695e053c0"}
	out = human(t, "health", h)
	for _, want := range []string{"status   degraded\n", "reason   no neighbour is reachable:", "uptime   1m9s\n", "pending  1 message\n",
		"miner    running, 54.5 M attempts/s, 1 block mined", "0 of 1 neighbour reachable, 0 blocks adopted, 1 reorg,", "node id  19cd1a5695e053c0"} {
		if !strings.Contains(out, want) {
			t.Fatalf("health lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "{") {
		t.Fatalf("health shows JSON:\n%s", out)
	}
}
