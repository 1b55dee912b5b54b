package backup

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/store"
)

// restore replaces the chain with a backup. It refuses while a writer holds
// the chain lock (after the bounded wait), keeps the current chain aside as
// a backup first, and puts the messages of blocks the backup lacks back
// into pending, so that nothing acknowledged is lost.
func (c *CLI) restore(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	src := c.Restore.Backup
	if !strings.ContainsRune(src, os.PathSeparator) {
		src = filepath.Join(dir.File(store.BackupDir), src)
	}
	if _, err := os.Stat(src); err != nil {
		return fmt.Errorf("backup %s: %w (bc-backup list shows the backups)", src, err)
	}
	open, closeAll := env.Opener()
	defer closeAll()
	r := check(ctx, src, open)
	if !r.Valid {
		return cli.Failed(fmt.Errorf("backup %s does not verify: %s", src, r.Problem))
	}
	g, err := dir.ReadGenesis()
	if err != nil {
		return err
	}
	f, err := os.Open(src)
	if err != nil {
		return err
	}
	defer f.Close()
	// The backup's genesis must be this chain's; its blocks after it replace
	// ours, and Reorg puts back into pending what they lack.
	br := bufio.NewReader(f)
	first, err := br.ReadBytes('\n')
	genesisLine := append(g.AppendJSON(nil), '\n')
	if err != nil || !bytes.Equal(first, genesisLine) {
		return cli.Failed(fmt.Errorf("backup %s is of another chain (its first line is not this chain's genesis)", src))
	}
	tip, err := dir.Tip()
	if err != nil {
		return err
	}
	aside := filepath.Join(store.BackupDir, "node_"+time.Now().UTC().Format("20060102_150405")+"-before-restore.chain")
	res, err := dir.Reorg(ctx, store.ReorgSpec{Prev: tip.Hash, Base: g.Summary(), Keep: int64(len(genesisLine)), Lines: br, Aside: aside,
		Cause: "restore of " + src + " (bc-backup restore)", Origin: "backup " + filepath.Base(src)})
	if err != nil {
		var le *store.LockedError
		switch {
		case errors.As(err, &le):
			return fmt.Errorf("cannot restore while a writer holds the chain: %w (stop it, or retry)", err)
		case errors.Is(err, store.ErrTipMoved):
			return fmt.Errorf("the chain changed during the restore (a writer is running): %w; retry", err)
		}
		return err
	}
	digest, err := HashFile(dir.File(store.ChainFile))
	if err == nil {
		err = dir.WriteHash(digest)
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(env.Stdout, "restored %s: height %d, tip %s; %s of dropped blocks pending again; the previous chain is in %s\n",
		filepath.Base(src), res.Tip.Index, res.Tip.Hash, cmdline.Count(res.Repended, "message"), dir.File(aside))
	return nil
}
