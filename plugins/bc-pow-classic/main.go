// Command bc-pow-classic serves bc's "classic" proof-of-work strategy as a plugin.
// bc binaries start it themselves; it is not meant to be run by hand.
package main

import (
	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/strategy"
)

func main() { powsdk.Serve(strategy.Classic{}) }
