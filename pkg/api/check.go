package api

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Checks of a block a client made (the web UI's tamper lab) are limited
// per client IP: each may cost a proof-of-work check by the strategy
// plugin (a millisecond of scrypt, say) and reads a megabyte at most.
const (
	ChecksPerSecond = 4
	CheckBurst      = 8
	checkTimeout    = 10 * time.Second
)

// Verdict is the /check answer: whether the block would be valid as the
// block of its index on this node's chain, and if not, which rule it
// breaks (the typed error bc-verify and bc-gossip report).
type Verdict struct {
	Valid  bool   `json:"valid"`
	Index  uint64 `json:"index"`
	Rule   string `json:"rule,omitempty"`
	Error  string `json:"error,omitempty"`
	Got    string `json:"got,omitempty"`
	Want   string `json:"want,omitempty"`
	Parent string `json:"parent,omitempty"` // the hash it was checked against
}

// loadOnce keeps what its load gave the first time it worked: the
// chain's strategy plugin for /check, the plugins' descriptions for
// /strategies (each load starts subprocesses). Loads are serialised.
type loadOnce[T any] struct {
	mu  sync.Mutex
	v   T
	got bool
}

func (l *loadOnce[T]) get(load func() (T, error)) (T, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if !l.got {
		v, err := load()
		if err != nil {
			return v, err
		}
		l.v, l.got = v, true
	}
	return l.v, nil
}

// serveCheck is POST /check: the body is one block line; the answer says
// whether it is valid where its index puts it on this chain, without
// writing anything.
func (s *Server) serveCheck(w http.ResponseWriter, r *http.Request) {
	if s.overLimit(w, r, s.checks, "checks", ChecksPerSecond, CheckBurst) {
		return
	}
	line, err := io.ReadAll(http.MaxBytesReader(w, r.Body, chain.MaxLineBytes+1))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("a block line is at most %d bytes", chain.MaxLineBytes), "")
			return
		}
		s.fail(w, r, http.StatusBadRequest, "read the block: "+err.Error(), "")
		return
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	if bytes.IndexByte(line, '\n') >= 0 || len(line) == 0 {
		s.fail(w, r, http.StatusBadRequest, "send one block: one line of canonical JSON", "")
		return
	}
	v := s.node.chainView()
	if v == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "no chain yet", "")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()
	verdict, err := s.check(ctx, v, line)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	s.reply(w, http.StatusOK, verdict)
}

// check validates line as the block of its stated index on v's chain.
// An error means the check could not be made (no plugin), not that the
// block is invalid.
func (s *Server) check(ctx context.Context, v *store.View, line []byte) (Verdict, error) {
	var p chain.Parser
	var sum chain.Summary
	if err := p.ParseSummary(line, &sum); err != nil {
		return ruleVerdict(0, &validate.RuleError{Rule: validate.RuleSyntax, Detail: err.Error(), Err: err}), nil
	}
	verdict := Verdict{Index: sum.Index}
	params := v.Params()
	verifier, err := s.verifier.get(func() (validate.Verifier, error) {
		if s.opts.Opener == nil {
			return nil, errors.New("this bc-serve checks no proofs of work (it was started without strategy plugins)")
		}
		return s.opts.Opener(ctx, params)
	})
	if err != nil {
		return verdict, err
	}
	var st *validate.Stream
	if sum.Index == 0 {
		st = validate.NewStream(ctx, validate.Options{}, func(context.Context, *chain.Params) (validate.Verifier, error) { return verifier, nil })
	} else {
		if sum.Index > v.Height()+1 {
			return ruleVerdict(sum.Index, &validate.RuleError{Rule: validate.RuleIndex, Index: sum.Index,
				Detail: "this node has no block " + strconv.FormatUint(sum.Index-1, 10) + " to check it against",
				Got:    strconv.FormatUint(sum.Index, 10), Want: "at most " + strconv.FormatUint(v.Height()+1, 10)}), nil
		}
		parent, err := v.Summary(sum.Index - 1)
		if err != nil {
			return verdict, err
		}
		verdict.Parent = parent.Hash.String()
		st = validate.NewStreamAfter(ctx, validate.Options{}, params, v.Genesis(), parent, verifier)
	}
	err = st.Add(int(sum.Index)+1, line)
	if cerr := st.Close(); err == nil {
		err = cerr
	}
	if err == nil && sum.Index == 0 && sum.Hash != v.Genesis() {
		err = &validate.RuleError{Rule: validate.RuleGenesisMismatch, Index: 0, Hash: sum.Hash,
			Detail: "a valid genesis, but not this chain's", Got: sum.Hash.String(), Want: v.Genesis().String()}
	}
	if err == nil {
		verdict.Valid = true
		return verdict, nil
	}
	re := validate.AsRuleError(err)
	if re == nil {
		return verdict, err
	}
	out := ruleVerdict(sum.Index, re)
	out.Parent = verdict.Parent
	return out, nil
}

func ruleVerdict(index uint64, re *validate.RuleError) Verdict {
	return Verdict{Index: index, Rule: re.Rule.String(), Error: re.Error(), Got: re.Got, Want: re.Want}
}

// serveReorgs is GET /reorgs: the node's record of its chain
// replacements, newest first.
func (s *Server) serveReorgs(w http.ResponseWriter, r *http.Request) {
	rs, err := s.dir.Reorgs(maxReorgsListed)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	s.reply(w, http.StatusOK, map[string]any{"reorgs": rs, "length": len(rs)})
}

// maxReorgsListed bounds GET /reorgs.
const maxReorgsListed = 50

// serveOrigin is GET /origins/<hash>: where the block came from, when
// this node recorded it (it keeps the newest few thousand).
func (s *Server) serveOrigin(w http.ResponseWriter, r *http.Request) {
	h, err := chain.ParseHash(r.PathValue("hash"))
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "want a 64-digit block hash", "")
		return
	}
	o, ok, err := s.dir.OriginOf(h)
	switch {
	case err != nil:
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
	case !ok:
		s.fail(w, r, http.StatusNotFound, "no origin recorded for "+h.String()+" (the genesis, or a block older than the record)", "")
	default:
		s.reply(w, http.StatusOK, o)
	}
}

// Strategy is one strategy plugin in the GET /strategies answer.
type Strategy struct {
	Name              string           `json:"name"`
	Description       string           `json:"description"`
	Version           string           `json:"version,omitempty"`
	DefaultDifficulty uint32           `json:"default_difficulty"`
	MinDifficulty     uint32           `json:"min_difficulty"`
	MaxDifficulty     uint32           `json:"max_difficulty"`
	DifficultyUnit    string           `json:"difficulty_unit"`
	Options           []StrategyOption `json:"options"`
}

// StrategyOption is one genesis option of a strategy.
type StrategyOption struct {
	Name        string `json:"name"`
	Default     uint64 `json:"default"`
	Min         uint64 `json:"min"`
	Max         uint64 `json:"max"`
	Description string `json:"description"`
}

// serveStrategies is GET /strategies: the strategy plugins this node
// finds, each with its own description (the web UI's proof-of-work page).
func (s *Server) serveStrategies(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), checkTimeout)
	defer cancel()
	list, err := s.strategies.get(func() ([]Strategy, error) {
		if s.opts.Strategies == nil {
			return nil, errors.New("this bc-serve knows no strategy plugins (it was started without them)")
		}
		return s.opts.Strategies(ctx)
	})
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	s.reply(w, http.StatusOK, map[string]any{"strategies": list, "length": len(list)})
}
