// Command bc-serve serves a node's REST API and web UI. See pkg/api.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/api"
)

func main() { os.Exit(api.Main(os.Args[1:])) }
