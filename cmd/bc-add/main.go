// Command bc-add adds messages to a node. See pkg/client.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/client"
)

func main() { os.Exit(client.AddMain(os.Args[1:])) }
