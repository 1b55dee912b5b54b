// Package node defines what bc's daemons tell each other through the chain
// directory, besides the chain and the pending log (which pkg/store owns):
// node addresses and the neighbour book (neighbours.json), the daemons'
// status files, and the announcements bc-serve hands to bc-gossip. It is
// the one home of these formats, so that no daemon package imports
// another: chain and store at the bottom, node beside them, one package
// per program above, the mains on top.
package node
