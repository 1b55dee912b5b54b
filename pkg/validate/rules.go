package validate

import (
	"errors"
	"fmt"

	"github.com/bc-chain/bc/pkg/chain"
)

// Rule identifies one validity rule of a chain.
type Rule int

// The rules, grouped by layer. Each is checked on every block in this order.
const (
	// Sanity: one line on its own.

	// RuleSyntax: the line is not a canonical block (unknown, duplicate or
	// misplaced field, wrong type, non-canonical encoding, over-long line or
	// message).
	RuleSyntax Rule = iota + 1
	// RuleTornLine: the input ends inside a line (a write torn by a crash).
	RuleTornLine
	// RuleHash: the line's "hash" is not the SHA-256 of its header.
	RuleHash
	// RuleDuplicateID: one block carries the same message id twice.
	RuleDuplicateID
	// RuleUnboundID: a message's id is not the one its text produces
	// (format version 2 binds ids to texts, so that no block can carry a
	// known id with other text).
	RuleUnboundID
	// RuleParamsOutsideGenesis: a block other than the first carries params.
	RuleParamsOutsideGenesis

	// Genesis: the first line.

	// RuleGenesisIndex: the first block's index is not 0.
	RuleGenesisIndex
	// RuleGenesisParams: the genesis has no params, or they are malformed
	// or refused by their strategy.
	RuleGenesisParams
	// RuleGenesisForm: the genesis is not the one its params define (its
	// timestamp, message, proof or previous_hash differ).
	RuleGenesisForm
	// RuleGenesisMismatch: the genesis is valid but not the one expected
	// (a chain of another network, strategy or difficulty).
	RuleGenesisMismatch

	// Linkage: each block against its predecessor.

	// RuleIndex: the index is not the predecessor's + 1.
	RuleIndex
	// RulePrevHash: previous_hash is not the predecessor's hash.
	RulePrevHash
	// RuleTimestamp: the timestamp is not later than the predecessor's.
	RuleTimestamp
	// RuleFutureTimestamp: the timestamp is further in the future than the
	// allowed clock drift.
	RuleFutureTimestamp

	// Work: checked by the chain's strategy plugin, in batches.

	// RuleProof: the proof of work does not meet the chain's difficulty.
	RuleProof
)

var ruleNames = map[Rule]string{
	RuleSyntax:               "syntax",
	RuleTornLine:             "torn-line",
	RuleHash:                 "hash",
	RuleDuplicateID:          "duplicate-id",
	RuleUnboundID:            "unbound-id",
	RuleParamsOutsideGenesis: "params-outside-genesis",
	RuleGenesisIndex:         "genesis-index",
	RuleGenesisParams:        "genesis-params",
	RuleGenesisForm:          "genesis-form",
	RuleGenesisMismatch:      "genesis-mismatch",
	RuleIndex:                "index",
	RulePrevHash:             "previous-hash",
	RuleTimestamp:            "timestamp",
	RuleFutureTimestamp:      "future-timestamp",
	RuleProof:                "proof",
}

// String returns the rule's stable name, as printed by bc-verify.
func (r Rule) String() string {
	if n, ok := ruleNames[r]; ok {
		return n
	}
	return fmt.Sprintf("rule(%d)", int(r))
}

// Rules lists every rule in checking order.
func Rules() []Rule {
	out := make([]Rule, 0, len(ruleNames))
	for r := RuleSyntax; r <= RuleProof; r++ {
		out = append(out, r)
	}
	return out
}

// RuleError says which block broke which rule, with the values seen and
// expected. Use errors.As to get it from any validation error.
type RuleError struct {
	Rule   Rule
	Line   int        // 1-based line (or element) number in the input
	Index  uint64     // the block's index as stated (for syntax errors: Line-1)
	Hash   chain.Hash // the block's hash as stated; zero when the line did not parse
	Got    string     // the value seen
	Want   string     // the value expected
	Detail string     // a sentence for humans
	Err    error      // the underlying error, if any (e.g. a *chain.ParseError)
}

func (e *RuleError) Error() string {
	s := fmt.Sprintf("block %d (line %d", e.Index, e.Line)
	if !e.Hash.IsZero() {
		s += ", hash " + e.Hash.String()[:16] + "…"
	}
	s += "): " + e.Rule.String() + ": " + e.Detail
	if e.Got != "" || e.Want != "" {
		s += fmt.Sprintf(" (got %s, want %s)", e.Got, e.Want)
	}
	return s
}

func (e *RuleError) Unwrap() error { return e.Err }

// Failure marks a broken rule as "the work failed" (exit code 1).
func (e *RuleError) Failure() bool { return true }

// AsRuleError returns the *RuleError in err's chain, or nil.
func AsRuleError(err error) *RuleError {
	var re *RuleError
	if errors.As(err, &re) {
		return re
	}
	return nil
}
