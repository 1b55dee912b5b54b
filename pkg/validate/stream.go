package validate

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/bc-chain/bc/pkg/chain"
)

// Verifier checks proofs of work in batches; the plugin host implements it
// for a chain's strategy.
type Verifier interface {
	// CheckParams reports why the strategy refuses the chain parameters.
	CheckParams(ctx context.Context, p *chain.Params) error
	// VerifyBatch checks the work records (chain.RecordSize bytes each) and
	// returns the position of the first one whose proof is invalid (-1 when
	// all are valid) and that record's work hash.
	VerifyBatch(ctx context.Context, p *chain.Params, records []byte) (int, chain.Hash, error)
}

// Opener returns the Verifier for a chain's parameters (it loads the plugin
// of params.Strategy).
type Opener func(ctx context.Context, p *chain.Params) (Verifier, error)

// BatchBytes bounds the work records sent to a plugin in one call, far below
// gRPC's 4 MiB message limit.
const BatchBytes = 1 << 20

// pending describes a block whose proof awaits its batch's verdict.
type pending struct {
	line  int
	index uint64
	hash  chain.Hash
}

type batch struct {
	records []byte
	blocks  []pending
}

type verdict struct {
	err error // *RuleError for a bad proof, other errors for plugin failure
}

// Stream validates a chain read line by line: the Checker's rules at once and
// the proofs of work in batches through the strategy plugin, one batch in
// flight while the next is filled. It reports the error of the earliest
// invalid block, whichever layer found it.
type Stream struct {
	ctx      context.Context
	cancel   context.CancelFunc
	checker  *Checker
	open     Opener
	verifier Verifier
	cur      *batch
	free     chan *batch
	jobs     chan *batch
	verdicts chan verdict
	inFlight int
	// lastProof is the proof of the last block checked: the classic
	// strategy's input for the next one.
	lastProof uint64
	final     error
	done      chan struct{}
}

// NewStream validates a chain from its genesis; open is called once the
// genesis is known, to get the strategy's Verifier. A nil open skips the
// proof-of-work layer (for files this node wrote itself).
func NewStream(ctx context.Context, opts Options, open Opener) *Stream {
	return newStream(ctx, NewChecker(opts), open, nil)
}

// NewStreamAfter validates blocks that continue a known-valid chain ending
// in tip (see NewCheckerAfter), with v checking proofs (nil skips them).
func NewStreamAfter(ctx context.Context, opts Options, params *chain.Params, genesis chain.Hash, tip chain.Summary, v Verifier) *Stream {
	s := newStream(ctx, NewCheckerAfter(opts, params, genesis, tip), nil, v)
	s.lastProof = tip.Proof
	return s
}

func newStream(ctx context.Context, c *Checker, open Opener, v Verifier) *Stream {
	ctx, cancel := context.WithCancel(ctx)
	s := &Stream{
		ctx: ctx, cancel: cancel, checker: c, open: open, verifier: v,
		free:     make(chan *batch, 3),
		jobs:     make(chan *batch, 1),
		verdicts: make(chan verdict, 3),
		done:     make(chan struct{}),
	}
	for i := 0; i < 3; i++ {
		s.free <- &batch{records: make([]byte, 0, 64<<10)}
	}
	s.cur = <-s.free
	go s.work()
	return s
}

// Checker exposes the line checker (for the tip, params and messages).
func (s *Stream) Checker() *Checker { return s.checker }

// work verifies batches in order until jobs is closed.
func (s *Stream) work() {
	defer close(s.done)
	for b := range s.jobs {
		s.verdicts <- verdict{err: s.verify(b)}
		b.records, b.blocks = b.records[:0], b.blocks[:0]
		s.free <- b
	}
}

func (s *Stream) verify(b *batch) error {
	params := s.checker.Params()
	bad, work, err := s.verifier.VerifyBatch(s.ctx, params, b.records)
	if err != nil {
		return fmt.Errorf("verify proofs with strategy %q: %w", params.Strategy, err)
	}
	if bad < 0 {
		return nil
	}
	if bad >= len(b.blocks) {
		return fmt.Errorf("strategy %q reported record %d of a batch of %d", params.Strategy, bad, len(b.blocks))
	}
	p := b.blocks[bad]
	return &RuleError{Rule: RuleProof, Line: p.line, Index: p.index, Hash: p.hash,
		Got: "work hash " + work.String(), Want: describeDifficulty(params),
		Detail: "proof of work does not meet the chain's difficulty"}
}

func describeDifficulty(p *chain.Params) string {
	return p.Strategy + " difficulty " + strconv.FormatUint(uint64(p.Difficulty), 10)
}

// Add checks one line. A non-nil error is final: it belongs to the earliest
// invalid block (a proof checked in an earlier batch may fail after later
// lines passed the other rules) or is an I/O or plugin error. After an error
// the Stream must not be used except for Close.
func (s *Stream) Add(lineNo int, line []byte) error {
	if s.final != nil {
		return s.final
	}
	if err := s.collect(false); err != nil {
		return s.fail(err)
	}
	sum, err := s.checker.Check(lineNo, line)
	if err != nil {
		// Blocks before this one may still fail their proof: theirs is
		// the earlier error.
		if perr := s.flush(); perr != nil {
			return s.fail(perr)
		}
		return s.fail(err)
	}
	prevProof := s.lastProof
	s.lastProof = sum.Proof
	if sum.Index == 0 && s.checker.Blocks() == 1 {
		return s.startVerifier()
	}
	if s.verifier == nil {
		return nil
	}
	c := s.cur
	c.records = chain.AppendRecord(c.records, &sum.Header, prevProof)
	c.blocks = append(c.blocks, pending{line: lineNo, index: sum.Index, hash: sum.Hash})
	if len(c.records)+chain.RecordSize > BatchBytes {
		s.submit()
	}
	return nil
}

func (s *Stream) startVerifier() error {
	if s.open == nil || s.verifier != nil {
		return nil
	}
	v, err := s.open(s.ctx, s.checker.Params())
	if err != nil {
		return s.fail(err)
	}
	if err := v.CheckParams(s.ctx, s.checker.Params()); err != nil {
		return s.fail(&RuleError{Rule: RuleGenesisParams, Line: 1, Index: 0, Hash: s.checker.Genesis(),
			Detail: fmt.Sprintf("strategy %q refuses the params: %v", s.checker.Params().Strategy, err)})
	}
	s.verifier = v
	return nil
}

// submit hands the current batch to the worker and takes a free one.
func (s *Stream) submit() {
	if len(s.cur.blocks) == 0 {
		return
	}
	s.jobs <- s.cur
	s.inFlight++
	s.cur = <-s.free
}

// collect gathers verdicts: all of them when wait, else those ready.
func (s *Stream) collect(wait bool) error {
	for s.inFlight > 0 {
		var v verdict
		if wait {
			v = <-s.verdicts
		} else {
			select {
			case v = <-s.verdicts:
			default:
				return nil
			}
		}
		s.inFlight--
		if v.err != nil {
			return v.err
		}
	}
	return nil
}

// Flush waits until every block added so far has had its proof checked and
// returns the first error, if any; after it returns nil, every block added
// is valid and may be written.
func (s *Stream) Flush() error {
	if s.final != nil {
		return s.final
	}
	if err := s.flush(); err != nil {
		return s.fail(err)
	}
	return nil
}

// flush verifies everything added so far.
func (s *Stream) flush() error {
	if s.verifier != nil {
		s.submit()
	}
	return s.collect(true)
}

func (s *Stream) fail(err error) error {
	s.final = err
	s.cancel()
	return err
}

// Close verifies what is still pending, stops the worker and returns the
// final verdict: nil when every block added so far is valid.
func (s *Stream) Close() error {
	if s.final == nil {
		if err := s.flush(); err != nil {
			s.fail(err)
		}
	} else {
		_ = s.collect(true)
	}
	close(s.jobs)
	<-s.done
	s.cancel()
	return s.final
}

// Result describes a chain that passed validation.
type Result struct {
	Blocks  uint64
	Params  *chain.Params
	Genesis chain.Hash
	Tip     chain.Summary
	Bytes   int64
}

// VerifyReader validates a whole chain file read from r. progress, if not
// nil, is called now and then with the bytes and blocks read so far.
func VerifyReader(ctx context.Context, r io.Reader, opts Options, open Opener, progress func(bytes int64, blocks uint64)) (Result, error) {
	s := NewStream(ctx, opts, open)
	lr := chain.NewLineReader(r)
	var res Result
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			var tail *chain.TailError
			switch {
			case errors.As(err, &tail):
				err = &RuleError{Rule: RuleTornLine, Line: tail.Line, Index: uint64(tail.Line - 1), Detail: err.Error(), Err: err}
			default:
				var pe *chain.ParseError
				if errors.As(err, &pe) {
					err = &RuleError{Rule: RuleSyntax, Line: pe.Line, Index: uint64(pe.Line - 1), Detail: err.Error(), Err: err}
				}
			}
			if perr := s.flush(); perr != nil {
				err = perr
			}
			s.fail(err)
			break
		}
		if err := s.Add(lr.Line(), line); err != nil {
			break
		}
		if progress != nil && lr.Line()&0x3fff == 0 {
			progress(lr.End(), s.checker.Blocks())
		}
	}
	err := s.Close()
	res.Bytes = lr.End()
	if progress != nil {
		progress(res.Bytes, s.checker.Blocks())
	}
	if err != nil {
		return res, err
	}
	if s.checker.Blocks() == 0 {
		return res, &RuleError{Rule: RuleGenesisIndex, Line: 1, Detail: "the chain is empty: no genesis"}
	}
	res.Blocks = s.checker.Blocks()
	res.Params = s.checker.Params()
	res.Genesis = s.checker.Genesis()
	res.Tip = s.checker.Last()
	return res, nil
}
