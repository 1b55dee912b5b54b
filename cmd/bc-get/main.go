// Command bc-get reads from a node. See pkg/client.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/client"
)

func main() { os.Exit(client.GetMain(os.Args[1:])) }
