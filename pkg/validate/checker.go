package validate

import (
	"bytes"
	"fmt"
	"io"
	"strconv"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
)

// DefaultMaxFuture is how far ahead of the local clock a block's timestamp may
// be: the clock drift between honest nodes that bc tolerates (Bitcoin uses the
// same two hours).
const DefaultMaxFuture = 2 * time.Hour

// Options tune a Checker or Stream.
type Options struct {
	// Now returns the current time; time.Now when nil.
	Now func() time.Time
	// MaxFuture bounds timestamps ahead of Now; DefaultMaxFuture when zero.
	MaxFuture time.Duration
	// Genesis, when non-zero, is the genesis hash the chain must have.
	Genesis chain.Hash
}

// Checker applies the sanity, genesis and linkage rules to a chain one line
// at a time, holding only the previous block: memory stays constant whatever
// the chain length. It does not check proofs of work (see Stream).
type Checker struct {
	opts    Options
	parser  chain.Parser
	sum     chain.Summary
	blocks  uint64 // blocks accepted so far
	prev    chain.Summary
	prevSum chain.Hash // computed hash of prev
	params  *chain.Params
	genesis chain.Hash
	ids     map[string]struct{}
	// futureLimit caches now+MaxFuture in Unix ms.
	futureLimit uint64
}

// NewChecker returns a Checker that expects a genesis first.
func NewChecker(opts Options) *Checker {
	return &Checker{opts: opts}
}

// NewCheckerAfter returns a Checker that continues a chain whose blocks up to
// and including tip are already known to be valid; params and genesis are
// that chain's.
func NewCheckerAfter(opts Options, params *chain.Params, genesis chain.Hash, tip chain.Summary) *Checker {
	c := &Checker{opts: opts, params: params, genesis: genesis, prev: tip, prevSum: tip.Hash, blocks: tip.Index + 1}
	return c
}

// Params returns the chain parameters once the genesis has been checked.
func (c *Checker) Params() *chain.Params { return c.params }

// Genesis returns the genesis hash once the genesis has been checked.
func (c *Checker) Genesis() chain.Hash { return c.genesis }

// Blocks returns how many blocks have been accepted.
func (c *Checker) Blocks() uint64 { return c.blocks }

// Last returns the summary of the last accepted block.
func (c *Checker) Last() chain.Summary { return c.prev }

// Parser gives access to the messages of the line last checked.
func (c *Checker) Parser() *chain.Parser { return &c.parser }

// Check parses and checks one line (the lineNo-th of the input). On success
// the block becomes the predecessor of the next line and its summary is
// returned; the summary is valid until the next call.
func (c *Checker) Check(lineNo int, line []byte) (*chain.Summary, error) {
	s := &c.sum
	if err := c.parser.ParseSummary(line, s); err != nil {
		detail := err.Error() // "column N: ...": the RuleError names the line
		if pe, ok := err.(*chain.ParseError); ok {
			pe.Line = lineNo
		}
		return nil, &RuleError{Rule: RuleSyntax, Line: lineNo, Index: uint64(lineNo - 1), Detail: detail, Err: err}
	}
	fail := func(r Rule, got, want, format string, args ...any) (*chain.Summary, error) {
		return nil, &RuleError{Rule: r, Line: lineNo, Index: s.Index, Hash: s.Hash, Got: got, Want: want, Detail: fmt.Sprintf(format, args...)}
	}
	computed := s.Header.Hash()
	if computed != s.Hash {
		return fail(RuleHash, s.Hash.String(), computed.String(), "stated hash is not the hash of the block's contents")
	}
	if c.blocks == 0 {
		if re := c.checkGenesis(lineNo, s); re != nil {
			return nil, re
		}
	} else {
		if s.Params != nil {
			return fail(RuleParamsOutsideGenesis, "params", "none", "only the genesis may carry params")
		}
		if id, dup := c.duplicateID(); dup {
			return fail(RuleDuplicateID, id, "unique ids", "message id %s appears twice in the block", id)
		}
		if m, ok := c.unboundID(); !ok {
			return fail(RuleUnboundID, string(c.parser.ID(m)), "the id its text produces",
				"message %d's id is not bound to its text (a block may not reuse an id with other text)", m+1)
		}
		if s.Index != c.prev.Index+1 {
			return fail(RuleIndex, strconv.FormatUint(s.Index, 10), strconv.FormatUint(c.prev.Index+1, 10), "index does not follow block %d", c.prev.Index)
		}
		if s.PrevHash != c.prevSum {
			return fail(RulePrevHash, s.PrevHash.String(), c.prevSum.String(), "previous_hash is not the hash of block %d", c.prev.Index)
		}
		if s.Timestamp <= c.prev.Timestamp {
			return fail(RuleTimestamp, strconv.FormatUint(s.Timestamp, 10), "> "+strconv.FormatUint(c.prev.Timestamp, 10), "timestamp is not later than block %d's", c.prev.Index)
		}
		if s.Timestamp > c.futureLimit {
			// The limit only grows with the clock: read the clock only when
			// a timestamp passes the limit last computed.
			c.futureLimit = uint64(c.now().Add(c.maxFuture()).UnixMilli())
		}
		if limit := c.futureLimit; s.Timestamp > limit {
			return fail(RuleFutureTimestamp, strconv.FormatUint(s.Timestamp, 10), "<= "+strconv.FormatUint(limit, 10),
				"timestamp is more than %v ahead of this node's clock", c.maxFuture())
		}
	}
	c.prev = *s
	c.prevSum = computed
	c.blocks++
	return s, nil
}

func (c *Checker) checkGenesis(lineNo int, s *chain.Summary) *RuleError {
	fail := func(r Rule, got, want, detail string) *RuleError {
		return &RuleError{Rule: r, Line: lineNo, Index: s.Index, Hash: s.Hash, Got: got, Want: want, Detail: detail}
	}
	if s.Index != 0 {
		return fail(RuleGenesisIndex, strconv.FormatUint(s.Index, 10), "0", "the first block must be a genesis with index 0")
	}
	if s.Params == nil {
		return fail(RuleGenesisParams, "no params", "params", "the genesis must record the chain parameters")
	}
	if err := s.Params.Validate(); err != nil {
		return fail(RuleGenesisParams, "", "", err.Error())
	}
	want, _ := chain.Genesis(*s.Params)
	if want.Hash != s.Hash {
		var what, got, exp string
		switch {
		case !s.PrevHash.IsZero():
			what, got, exp = "previous_hash", s.PrevHash.String(), want.PrevHash.String()
		case s.Proof != 0:
			what, got, exp = "proof", strconv.FormatUint(s.Proof, 10), "0"
		case s.Timestamp != want.Timestamp:
			what, got, exp = "timestamp", strconv.FormatUint(s.Timestamp, 10), strconv.FormatUint(want.Timestamp, 10)
		default:
			what, got, exp = "data", fmt.Sprintf("%d messages", s.Messages), "the genesis message"
		}
		return fail(RuleGenesisForm, got, exp, "the genesis "+what+" is not the one its params define")
	}
	if !c.opts.Genesis.IsZero() && s.Hash != c.opts.Genesis {
		return fail(RuleGenesisMismatch, s.Hash.String(), c.opts.Genesis.String(),
			fmt.Sprintf("genesis of another chain (network %q, strategy %q, difficulty %d)", s.Params.Network, s.Params.Strategy, s.Params.Difficulty))
	}
	c.params = s.Params
	c.genesis = s.Hash
	return nil
}

// duplicateID reports a message id that appears twice in the line last parsed.
func (c *Checker) duplicateID() (string, bool) {
	p := &c.parser
	n := p.NumMessages()
	if n <= 16 {
		for i := 1; i < n; i++ {
			for j := 0; j < i; j++ {
				if bytes.Equal(p.ID(i), p.ID(j)) {
					return string(p.ID(i)), true
				}
			}
		}
		return "", false
	}
	if c.ids == nil {
		c.ids = make(map[string]struct{}, n)
	}
	clear(c.ids)
	for i := 0; i < n; i++ {
		if _, ok := c.ids[string(p.ID(i))]; ok {
			return string(p.ID(i)), true
		}
		c.ids[string(p.ID(i))] = struct{}{}
	}
	return "", false
}

// unboundID returns the first message of the line last parsed whose id its
// text does not produce, with ok false.
func (c *Checker) unboundID() (int, bool) {
	p := &c.parser
	for i := 0; i < p.NumMessages(); i++ {
		if !chain.IDBound(p.ID(i), p.Text(i)) {
			return i, false
		}
	}
	return 0, true
}

func (c *Checker) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

func (c *Checker) maxFuture() time.Duration {
	if c.opts.MaxFuture > 0 {
		return c.opts.MaxFuture
	}
	return DefaultMaxFuture
}

// CheckResult is what CheckReader saw of a chain file.
type CheckResult struct {
	Blocks uint64        // blocks that passed
	Last   chain.Summary // the last of them
	End    int64         // offset just after the last good line
	Line   int           // the line of the first failure (0 if none)
	BadAt  int64         // its offset
	BadEnd int64         // how far the reader got into the input with it
}

// CheckReader applies the sanity, genesis and linkage rules (not the
// proofs of work) to every line of r, stopping at the first failure: a
// *RuleError, or a *chain.TailError when r ends inside a line.
func CheckReader(r io.Reader, opts Options) (CheckResult, error) {
	c := NewChecker(opts)
	lr := chain.NewLineReader(r)
	var res CheckResult
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return res, nil
		}
		if err == nil {
			_, err = c.Check(lr.Line(), line)
		}
		if err != nil {
			res.Line, res.BadAt, res.BadEnd = lr.Line(), lr.Offset(), lr.End()
			return res, err
		}
		res.Blocks, res.Last, res.End = c.Blocks(), c.Last(), lr.End()
	}
}
