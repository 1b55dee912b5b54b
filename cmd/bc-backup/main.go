// Command bc-backup keeps node.hash and backups of the chain. See pkg/backup.
package main

import (
	"os"

	"github.com/bc-chain/bc/pkg/backup"
)

func main() { os.Exit(backup.Main(os.Args[1:])) }
