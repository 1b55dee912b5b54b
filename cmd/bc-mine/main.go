// Command bc-mine mines pending messages into blocks. See pkg/miner.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/miner"
)

func main() { os.Exit(miner.Main(os.Args[1:])) }
