package validate

import "github.com/bc-chain/bc/pkg/chain"

// Tip summarises the end of a chain for fork choice.
type Tip struct {
	Genesis chain.Hash
	Height  uint64 // index of the last block
	Hash    chain.Hash
}

// Choice is what fork choice decides about another chain.
type Choice int

const (
	// Keep: the local chain has at least as much work, and there is no tie
	// to settle (the other chain is ours, shorter, or of another genesis).
	Keep Choice = iota
	// Adopt: the other chain carries more work; take it.
	Adopt
	// Tie: the other chain carries the same work with another tip. The
	// local chain stays; SettlesTie says which side mines the block that
	// ends the tie.
	Tie
)

func (c Choice) String() string {
	switch c {
	case Adopt:
		return "adopt"
	case Tie:
		return "tie"
	}
	return "keep"
}

// Compare is bc's fork-choice rule, the one place it is decided: the chain
// with more total work wins. The difficulty of a chain is fixed in its
// genesis, so every block carries the same expected work and total work is
// proportional to height; chains of different genesis are never compared
// (Keep). On a tie the local chain stays (Tie).
func Compare(local, other Tip) Choice {
	switch {
	case other.Genesis != local.Genesis || other.Height < local.Height:
		return Keep
	case other.Height > local.Height:
		return Adopt
	case other.Hash != local.Hash:
		return Tie
	}
	return Keep
}

// SettlesTie reports whether this node is the one that ends a lasting tie
// between its tip and another of equal work: the node whose tip hash is
// the larger mines one empty block on it, and the other then adopts the
// longer chain. Exactly one of two tied nodes acts.
func SettlesTie(local, other chain.Hash) bool {
	return local.String() > other.String()
}
