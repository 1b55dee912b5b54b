// Command bc-gossip keeps a node in step with its neighbours. See pkg/peer.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/peer"
)

func main() { os.Exit(peer.Main(os.Args[1:])) }
