package backup

import (
	"context"
	"time"

	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/store"
)

// daemon runs bc-backup as a daemon.
func (c *CLI) daemon(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	if !c.Once {
		inst, err := dir.Instance("bc-backup")
		if err != nil {
			return err
		}
		defer inst.Unlock()
		if err := dir.WaitForChain(ctx, 0); err != nil {
			return err
		}
	}
	if rr, err := dir.Recover(ctx); err != nil {
		return err
	} else if rr.MovedTo != "" {
		env.Log.Warn("repaired the chain: a torn last line was moved aside", "to", rr.MovedTo)
	}
	v, closeV, err := loadVerifier(ctx, env, dir)
	if err != nil {
		return err
	}
	defer closeV()
	b := New(dir, v, Config{Debounce: c.Debounce, Interval: c.Interval, MinInterval: c.MinInterval, KeepLast: c.KeepLast, KeepDaily: c.KeepDaily})
	defer b.Close()
	if last, err := List(dir); err == nil && len(last) > 0 {
		b.lastBackup = last[len(last)-1].Time
		if tip, err := tipOf(last[len(last)-1].Path); err == nil {
			b.lastBackupTip = tip
		}
	}
	if c.Once {
		res, err := b.Step(ctx, true)
		if err != nil {
			return err // 1 for a chain that does not verify, 2 for I/O
		}
		env.Log.Info("checked the chain", "blocks", res.Blocks, "hash", res.Hash.String(), "backup", res.Backup)
		return nil
	}
	return b.Run(ctx, func() { cli.Ready(env) })
}

// Run follows the directory until ctx ends.
func (b *Backuper) Run(ctx context.Context, ready func()) error {
	wake := make(chan struct{}, 1)
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- b.dir.Watch(watchCtx, b.cfg.Interval, nil, func(changed map[string]bool) {
			if changed == nil || changed[store.ChainFile] {
				select {
				case wake <- struct{}{}:
				default:
				}
			}
		})
	}()
	step := func() {
		if _, err := b.Step(ctx, false); err != nil && ctx.Err() == nil {
			b.log.Error("backup step failed", "error", err)
		}
	}
	step()
	if ready != nil {
		ready()
	}
	var due <-chan time.Time
	for {
		select {
		case <-ctx.Done():
			stop()
			<-watchErr
			return nil
		case err := <-watchErr:
			return err
		case <-wake:
			// Debounce: act once things are quiet for a moment.
			due = time.After(b.cfg.Debounce)
		case <-due:
			due = nil
			step()
			// A backup skipped by MinInterval is made when it is due.
			if b.tip.Hash != b.lastBackupTip {
				due = time.After(max(b.cfg.MinInterval-time.Since(b.lastBackup), b.cfg.Debounce))
			}
		}
	}
}
