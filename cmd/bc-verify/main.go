// Command bc-verify checks bc chains. See pkg/verify.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/verify"
)

func main() { os.Exit(verify.Main(os.Args[1:])) }
