// Package peer is bc-gossip: it finds neighbours, keeps the node's chain in
// step with theirs, and spreads pending messages. It also owns what other
// programs need to know about peers: node addresses (Addr) and the
// neighbour list file (Book).
package peer
