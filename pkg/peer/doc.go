// Package peer is bc-gossip: it finds neighbours, keeps the node's chain in
// step with theirs (fork choice is validate.Compare), spreads pending
// messages and new blocks, and defends the node against peers that lie,
// stall or flood (see score.go and the README's threat model). The files
// it shares with bc-serve (the neighbour book, its status, announcements)
// are defined in package node.
package peer
