package validate_test

import (
	"bytes"
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/strategy"
	"github.com/bc-chain/bc/pkg/validate"
)

var update = flag.Bool("update", false, "rewrite the test vectors in testdata")

// vector is a chain file with the rule it breaks (none for valid ones).
type vector struct {
	name  string
	data  []byte
	rule  validate.Rule // 0: valid
	line  int
	index uint64
	opts  validate.Options
}

var must = nodetest.Must

func builder(t *testing.T, s pow.Strategy, difficulty uint32, blocks int) *chaintest.Builder {
	b, err := chaintest.NewBuilder(s, difficulty)
	must(t, err)
	must(t, b.AddN(blocks, 2))
	return b
}

// otherGenesis is the genesis every vector is checked against, except
// genesis-mismatch, which is a valid chain of another network.
var mismatchOpts = func(t *testing.T) validate.Options {
	b := builder(t, strategy.Default{}, 8, 0)
	return validate.Options{Genesis: b.Blocks[0].Hash}
}

// vectors builds every test vector. Each broken chain breaks exactly one
// rule, in block 3 (line 4) unless the rule concerns the genesis or the end.
func vectors(t *testing.T) []vector {
	var out []vector
	for _, c := range []struct {
		s          pow.Strategy
		difficulty uint32
		blocks     int
	}{{strategy.Default{}, 8, 5}, {strategy.Classic{}, 2, 5}, {strategy.Scrypt{}, 2, 3}} {
		b := builder(t, c.s, c.difficulty, c.blocks)
		out = append(out, vector{name: "valid-" + c.s.Describe().Name, data: b.Bytes()})
	}
	// broken builds a 5-block default chain and lets edit change block 3
	// before it is sealed (proof and hash are then recomputed, so only the
	// edited rule breaks), then adds the blocks after it.
	broken := func(name string, rule validate.Rule, line int, edit func(b *chaintest.Builder, nb *chain.Block)) {
		b := builder(t, strategy.Default{}, 8, 2)
		nb := b.Next("third block", "and its second message")
		edit(b, nb)
		must(t, b.Append(nb))
		if rule != validate.RuleFutureTimestamp {
			must(t, b.AddN(2, 1))
		}
		out = append(out, vector{name: name, data: b.Bytes(), rule: rule, line: line, index: nb.Index})
	}
	broken("duplicate-id", validate.RuleDuplicateID, 4, func(_ *chaintest.Builder, nb *chain.Block) {
		nb.Data[1] = nb.Data[0] // the same message twice: its id is still bound
	})
	broken("unbound-id", validate.RuleUnboundID, 4, func(_ *chaintest.Builder, nb *chain.Block) {
		nb.Data[1].Text = "another text under the second message's id" // a squat
	})
	broken("params-outside-genesis", validate.RuleParamsOutsideGenesis, 4, func(b *chaintest.Builder, nb *chain.Block) {
		p := b.Params
		nb.Params = &p
	})
	broken("index", validate.RuleIndex, 4, func(_ *chaintest.Builder, nb *chain.Block) { nb.Index++ })
	broken("previous-hash", validate.RulePrevHash, 4, func(b *chaintest.Builder, nb *chain.Block) { nb.PrevHash = b.Blocks[1].Hash })
	broken("timestamp", validate.RuleTimestamp, 4, func(b *chaintest.Builder, nb *chain.Block) { nb.Timestamp = b.Tip().Timestamp })
	broken("future-timestamp", validate.RuleFutureTimestamp, 4, func(_ *chaintest.Builder, nb *chain.Block) {
		nb.Timestamp = 4102444800000 // 2100-01-01
	})

	// Rules whose breakage cannot go through sealing.
	base := builder(t, strategy.Default{}, 8, 5)
	lines := base.Lines()
	join := func(ls [][]byte) []byte { return append(bytes.Join(ls, []byte("\n")), '\n') }
	edited := func(i int, fn func(b *chain.Block)) [][]byte {
		cp := append([][]byte(nil), lines...)
		blk := base.Blocks[i].Clone() // fn must not edit the base's messages
		fn(blk)
		cp[i] = blk.AppendJSON(nil)
		return cp
	}
	out = append(out, vector{name: "syntax", rule: validate.RuleSyntax, line: 4, index: 3,
		data: join(append(append(append([][]byte(nil), lines[:3]...), bytes.Replace(lines[3], []byte(`"proof"`), []byte(`"nonce"`), 1)), lines[4:]...))})
	out = append(out, vector{name: "torn-line", rule: validate.RuleTornLine, line: 6, index: 5,
		data: join(lines)[:len(join(lines))-40]})
	out = append(out, vector{name: "hash", rule: validate.RuleHash, line: 4, index: 3,
		data: join(edited(3, func(b *chain.Block) { b.Data[0].Text = "tampered" }))})
	// A bad proof: keep hashes consistent, so only the proof rule breaks.
	out = append(out, vector{name: "proof", rule: validate.RuleProof, line: 4, index: 3,
		data: join(edited(3, func(b *chain.Block) {
			for b.Proof++; ; b.Proof++ {
				b.Hash = b.ComputeHash()
				if b.Hash[0] != 0 { // difficulty 8: the first byte must be zero
					break
				}
			}
		}))})
	out = append(out, vector{name: "genesis-index", rule: validate.RuleGenesisIndex, line: 1, index: 1,
		data: join(append([][]byte{lines[1]}, lines[2:]...))})
	noParams := func(b *chain.Block) { b.Params = nil; b.Hash = b.ComputeHash() }
	out = append(out, vector{name: "genesis-params", rule: validate.RuleGenesisParams, line: 1, index: 0,
		data: join(edited(0, noParams))})
	out = append(out, vector{name: "genesis-form", rule: validate.RuleGenesisForm, line: 1, index: 0,
		data: join(edited(0, func(b *chain.Block) { b.Data[0].Text = "Another first block"; b.Hash = b.ComputeHash() }))})
	other, err := chaintest.NewBuilder(strategy.Default{}, 9)
	must(t, err)
	must(t, other.AddN(2, 1))
	out = append(out, vector{name: "genesis-mismatch", rule: validate.RuleGenesisMismatch, line: 1, index: 0,
		data: other.Bytes(), opts: mismatchOpts(t)})
	return out
}

func verifier(ctx context.Context, p *chain.Params) (validate.Verifier, error) {
	for _, s := range []pow.Strategy{strategy.Default{}, strategy.Classic{}, strategy.Scrypt{}} {
		if s.Describe().Name == p.Strategy {
			return pow.Local{S: s}, nil
		}
	}
	return nil, os.ErrNotExist
}

// TestVectors checks every committed vector breaks exactly its rule, at its
// block. With -update it rewrites them first.
func TestVectors(t *testing.T) {
	vs := vectors(t)
	dir := "testdata"
	if *update {
		must(t, os.MkdirAll(dir, 0o755))
		for _, v := range vs {
			must(t, os.WriteFile(filepath.Join(dir, v.name+".chain"), v.data, 0o644))
		}
	}
	covered := map[validate.Rule]bool{}
	for _, v := range vs {
		t.Run(v.name, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, v.name+".chain"))
			must(t, err)
			if !bytes.Equal(data, v.data) {
				t.Fatalf("testdata/%s.chain differs from what the generator builds; run go test -run TestVectors -update", v.name)
			}
			res, err := validate.VerifyReader(context.Background(), bytes.NewReader(data), v.opts, verifier, nil)
			if v.rule == 0 {
				if err != nil {
					t.Fatalf("valid chain rejected: %v", err)
				}
				if res.Blocks < 4 {
					t.Fatalf("only %d blocks", res.Blocks)
				}
				return
			}
			re := validate.AsRuleError(err)
			if re == nil {
				t.Fatalf("want rule %v, got %v", v.rule, err)
			}
			if re.Rule != v.rule || re.Line != v.line || re.Index != v.index {
				t.Fatalf("want %v at line %d (block %d), got %v at line %d (block %d): %v", v.rule, v.line, v.index, re.Rule, re.Line, re.Index, re)
			}
			covered[v.rule] = true
		})
	}
	for _, r := range validate.Rules() {
		if !covered[r] {
			t.Errorf("no vector breaks rule %v", r)
		}
	}
}

// TestTamperAnyMessage changes one character of each message of valid
// chains and expects the block that carries it to be named.
func TestTamperAnyMessage(t *testing.T) {
	for _, name := range []string{"valid-default", "valid-classic"} {
		data, err := os.ReadFile(filepath.Join("testdata", name+".chain"))
		must(t, err)
		lines := strings.SplitAfter(string(data), "\n")
		lines = lines[:len(lines)-1]
		for i := range lines {
			at := strings.Index(lines[i], `"message":"`) + len(`"message":"`)
			tampered := append([]string(nil), lines...)
			c := tampered[i][at]
			tampered[i] = tampered[i][:at] + string(c^1) + tampered[i][at+1:]
			_, err := validate.VerifyReader(context.Background(), strings.NewReader(strings.Join(tampered, "")), validate.Options{}, verifier, nil)
			re := validate.AsRuleError(err)
			if re == nil || re.Index != uint64(i) || re.Line != i+1 {
				t.Fatalf("%s: tampering with block %d: got %v", name, i, err)
			}
		}
	}
}

// Fork choice: more blocks win, ties and other geneses do not.
// Fork choice, with the spec's examples: most work wins (the longer chain
// at fixed difficulty); on a tie the local chain stays and the larger tip
// hash settles it; another genesis is never compared.
func TestCompare(t *testing.T) {
	g := chain.Hash{1}
	local := validate.Tip{Genesis: g, Height: 10, Hash: chain.Hash{0xa0}}
	for _, c := range []struct {
		name  string
		other validate.Tip
		want  validate.Choice
	}{
		{"longer chain", validate.Tip{Genesis: g, Height: 11, Hash: chain.Hash{0x01}}, validate.Adopt},
		{"much longer chain", validate.Tip{Genesis: g, Height: 1000, Hash: chain.Hash{0x02}}, validate.Adopt},
		{"shorter chain", validate.Tip{Genesis: g, Height: 9, Hash: chain.Hash{0xff}}, validate.Keep},
		{"same chain", local, validate.Keep},
		{"tie: same height, another tip", validate.Tip{Genesis: g, Height: 10, Hash: chain.Hash{0xb0}}, validate.Tie},
		{"another genesis, longer", validate.Tip{Genesis: chain.Hash{2}, Height: 50, Hash: chain.Hash{3}}, validate.Keep},
		{"another genesis, same height", validate.Tip{Genesis: chain.Hash{2}, Height: 10, Hash: chain.Hash{3}}, validate.Keep},
	} {
		if got := validate.Compare(local, c.other); got != c.want {
			t.Errorf("%s: Compare = %v, want %v", c.name, got, c.want)
		}
	}
	// Exactly one side of a tie settles it: the larger tip hash.
	a, b := chain.Hash{0xa0}, chain.Hash{0xb0}
	if validate.SettlesTie(a, b) || !validate.SettlesTie(b, a) {
		t.Error("the larger tip hash must settle the tie, and only it")
	}
}

// The future-timestamp rule, at its edge: a block may be up to
// DefaultMaxFuture (2 h) ahead of the verifier's clock, not a millisecond
// more.
func TestFutureTimestampLimit(t *testing.T) {
	now := time.Date(2026, 12, 2, 12, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		ahead time.Duration
		ok    bool
	}{{0, true}, {time.Hour, true}, {2 * time.Hour, true}, {2*time.Hour + time.Millisecond, false}, {3 * time.Hour, false}} {
		b := builder(t, strategy.Default{}, 8, 1)
		b.Clock = uint64(now.Add(c.ahead).UnixMilli())
		_, err := b.Add("from the future?")
		must(t, err)
		checker := validate.NewChecker(validate.Options{Now: func() time.Time { return now }})
		var got error
		for i, line := range b.Lines() {
			if _, err := checker.Check(i+1, line); err != nil {
				got = err
				break
			}
		}
		if re := validate.AsRuleError(got); c.ok && got != nil || !c.ok && (re == nil || re.Rule != validate.RuleFutureTimestamp) {
			t.Errorf("a block %v ahead: %v", c.ahead, got)
		}
	}
}
