package pow

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
)

// Strategy is a proof-of-work rule. Plugins implement it and serve it with
// powsdk.Serve; hosts reach it through a *Plugin, which implements it too.
type Strategy interface {
	// Describe names the strategy and documents its parameters.
	Describe() Info
	// Seal searches proofs from req.Start on until one makes the header
	// meet the difficulty, or ctx ends (then it returns ctx.Err()). It calls
	// report, if not nil, now and then with the attempts made since its
	// previous call (from any goroutine).
	Seal(ctx context.Context, req SealRequest, report func(attempts uint64)) (SealResult, error)
	// Verify checks the proofs of a batch of work records (chain.RecordSize
	// bytes each) and returns the position of the first invalid one, or -1,
	// and that record's work hash.
	Verify(params chain.Params, records []byte) (int, chain.Hash, error)
}

// Info describes a strategy.
type Info struct {
	Name              string
	Description       string
	Version           string
	DefaultDifficulty uint32
	MinDifficulty     uint32
	MaxDifficulty     uint32
	DifficultyUnit    string // what one unit of difficulty means
	Options           []OptionSpec
}

// OptionSpec documents one strategy option.
type OptionSpec struct {
	Name        string
	Default     uint64
	Min, Max    uint64
	Description string
}

// SealRequest asks for a proof for one header.
type SealRequest struct {
	Params    chain.Params
	Header    [chain.HeaderSize]byte // proof bytes are ignored
	PrevProof uint64                 // the previous block's proof
	Threads   int                    // 0 means one per CPU
	Start     uint64                 // first proof to try
}

// SealResult is a found proof.
type SealResult struct {
	Proof    uint64
	WorkHash chain.Hash
	Attempts uint64
	Elapsed  time.Duration
}

// Rate returns attempts per second.
func (r SealResult) Rate() float64 {
	if r.Elapsed <= 0 {
		return 0
	}
	return float64(r.Attempts) / r.Elapsed.Seconds()
}

// CheckParams reports why a strategy described by info refuses params: a
// difficulty out of range, an unknown, missing or out-of-range option.
func CheckParams(info Info, p *chain.Params) error {
	if p.Strategy != "" && p.Strategy != info.Name {
		return fmt.Errorf("chain strategy is %q, plugin is %q", p.Strategy, info.Name)
	}
	if p.Difficulty < info.MinDifficulty || p.Difficulty > info.MaxDifficulty {
		return fmt.Errorf("difficulty %d is outside %d..%d (%s)", p.Difficulty, info.MinDifficulty, info.MaxDifficulty, info.DifficultyUnit)
	}
	for _, o := range p.Options {
		spec, ok := findOption(info, o.Name)
		if !ok {
			return fmt.Errorf("unknown option %q (strategy %s has %s)", o.Name, info.Name, optionNames(info))
		}
		if o.Value < spec.Min || o.Value > spec.Max {
			return fmt.Errorf("option %s=%d is outside %d..%d", o.Name, o.Value, spec.Min, spec.Max)
		}
	}
	for _, spec := range info.Options {
		if _, ok := p.Option(spec.Name); !ok {
			return fmt.Errorf("option %q is missing", spec.Name)
		}
	}
	return nil
}

// NewParams returns the parameters of a new chain using strategy info, with
// the given difficulty (the default when nil) and options (defaults for
// those not given). It fails when the result would be refused.
func NewParams(info Info, network string, difficulty *uint32, options map[string]uint64) (chain.Params, error) {
	p := chain.Params{Version: chain.FormatVersion, Network: network, Strategy: info.Name, Difficulty: info.DefaultDifficulty}
	if p.Network == "" {
		p.Network = chain.DefaultNetwork
	}
	if difficulty != nil {
		p.Difficulty = *difficulty
	}
	for name := range options {
		if _, ok := findOption(info, name); !ok {
			return p, fmt.Errorf("unknown option %q (strategy %s has %s)", name, info.Name, optionNames(info))
		}
	}
	for _, spec := range info.Options {
		v := spec.Default
		if given, ok := options[spec.Name]; ok {
			v = given
		}
		p.Options = append(p.Options, chain.Option{Name: spec.Name, Value: v})
	}
	sort.Slice(p.Options, func(i, j int) bool { return p.Options[i].Name < p.Options[j].Name })
	if err := p.Validate(); err != nil {
		return p, err
	}
	return p, CheckParams(info, &p)
}

func findOption(info Info, name string) (OptionSpec, bool) {
	for _, o := range info.Options {
		if o.Name == name {
			return o, true
		}
	}
	return OptionSpec{}, false
}

func optionNames(info Info) string {
	if len(info.Options) == 0 {
		return "no options"
	}
	s := ""
	for i, o := range info.Options {
		if i > 0 {
			s += ", "
		}
		s += o.Name
	}
	return "options " + s
}

// ErrRecords is returned for a batch whose length is not a multiple of
// chain.RecordSize.
var ErrRecords = errors.New("batch length is not a multiple of the record size")

// Records gives access to the work records of a batch.
type Records []byte

// Len returns the number of records.
func (r Records) Len() int { return len(r) / chain.RecordSize }

// Header returns the 96-byte header of record i.
func (r Records) Header(i int) []byte {
	return r[i*chain.RecordSize : i*chain.RecordSize+chain.HeaderSize]
}

// PrevProof returns the previous proof stored in record i.
func (r Records) PrevProof(i int) uint64 {
	b := r[i*chain.RecordSize+chain.HeaderSize : (i+1)*chain.RecordSize]
	return uint64(b[0])<<56 | uint64(b[1])<<48 | uint64(b[2])<<40 | uint64(b[3])<<32 |
		uint64(b[4])<<24 | uint64(b[5])<<16 | uint64(b[6])<<8 | uint64(b[7])
}

// Proof returns the proof in record i's header.
func (r Records) Proof(i int) uint64 {
	h := r.Header(i)[chain.ProofOffset:]
	return uint64(h[0])<<56 | uint64(h[1])<<48 | uint64(h[2])<<40 | uint64(h[3])<<32 |
		uint64(h[4])<<24 | uint64(h[5])<<16 | uint64(h[6])<<8 | uint64(h[7])
}

// Local adapts a Strategy running in this process to validate.Verifier, for
// tests and tools that need no plugin process.
type Local struct{ S Strategy }

// CheckParams implements validate.Verifier.
func (l Local) CheckParams(_ context.Context, p *chain.Params) error {
	return CheckParams(l.S.Describe(), p)
}

// VerifyBatch implements validate.Verifier.
func (l Local) VerifyBatch(_ context.Context, p *chain.Params, records []byte) (int, chain.Hash, error) {
	return l.S.Verify(*p, records)
}
