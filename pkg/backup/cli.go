package backup

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/alecthomas/kong"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// CLI is bc-backup's command line. Without a command it runs as a daemon
// (or once, with --once).
type CLI struct {
	cli.Common
	Once        bool          `help:"Hash and back up once (if the chain changed since the last backup), then exit: for cron and timers."`
	KeepLast    int           `help:"Most recent backups to keep." default:"${keep_last}" env:"BC_KEEP_LAST"`
	KeepDaily   int           `help:"Days for which the newest backup of the day is kept too." default:"${keep_daily}" env:"BC_KEEP_DAILY"`
	Interval    time.Duration `help:"Fallback check interval (changes are seen at once through file events)." default:"${interval}" env:"BC_BACKUP_INTERVAL"`
	MinInterval time.Duration `help:"Least time between two backups (node.hash is always kept current)." default:"${min_interval}" env:"BC_BACKUP_MIN_INTERVAL"`
	Debounce    time.Duration `help:"Quiet time after a change before acting." default:"${debounce}" env:"BC_BACKUP_DEBOUNCE"`

	Run     struct{}   `cmd:"" default:"1" hidden:"" help:"Run as a daemon (the default)."`
	List    listCmd    `cmd:"" help:"List the backups with their height, tip and whether they verify."`
	Verify  verifyCmd  `cmd:"" help:"Check node.hash against node.chain, the chain, and every backup."`
	Restore restoreCmd `cmd:"" help:"Replace the chain with a backup, keeping the current chain aside first."`
}

type listCmd struct {
	JSON bool `help:"Print JSON."`
}

type verifyCmd struct{}

type restoreCmd struct {
	Backup string `arg:"" help:"Backup to restore: a name from bc-backup list, or a path."`
}

// Main runs bc-backup with args and returns its exit code.
func Main(args []string) int {
	var c CLI
	return cli.Main("bc-backup", "Keep node.hash current and timestamped backups of the chain; list, verify and restore them.",
		&c, &c.Common, args, c.run)
}

// Vars gives the defaults of the flags, kept in Go constants.
func (c *CLI) Vars() kong.Vars {
	return kong.Vars{"keep_last": fmt.Sprint(DefaultKeepLast), "keep_daily": fmt.Sprint(DefaultKeepDaily),
		"interval": DefaultInterval.String(), "min_interval": DefaultMinInterval.String(), "debounce": DefaultDebounce.String()}
}

func (c *CLI) run(ctx context.Context, env *cli.Env) error {
	dir, err := env.OpenDir()
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(env.Command, "list"):
		return c.list(ctx, env, dir)
	case strings.HasPrefix(env.Command, "verify"):
		return c.verifyAll(ctx, env, dir)
	case strings.HasPrefix(env.Command, "restore"):
		return c.restore(ctx, env, dir)
	}
	return c.daemon(ctx, env, dir)
}

// loadVerifier starts the plugin of the chain's strategy.
func loadVerifier(ctx context.Context, env *cli.Env, dir *store.Dir) (validate.Verifier, func(), error) {
	g, err := dir.Init(ctx, nil)
	if err != nil {
		return nil, nil, err
	}
	p, err := env.LoadStrategy(ctx, g.Params.Strategy)
	if err != nil {
		return nil, nil, err
	}
	return p, p.Close, nil
}

func (c *CLI) daemon(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	if !c.Once {
		inst, err := dir.Instance("bc-backup")
		if err != nil {
			return err
		}
		defer inst.Unlock()
		if err := waitForChain(ctx, dir); err != nil {
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

func waitForChain(ctx context.Context, d *store.Dir) error {
	for i := 0; !d.HasChain(); i++ {
		if i == 0 {
			d.Log().Info("waiting for a chain (bc-mine creates it)", "dir", d.Path())
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(500 * time.Millisecond):
		}
	}
	return nil
}

// tipOf reads the last block of a chain file.
func tipOf(path string) (chain.Hash, error) {
	f, err := os.Open(path)
	if err != nil {
		return chain.Hash{}, err
	}
	defer f.Close()
	lr := chain.NewLineReader(f)
	var last []byte
	for {
		line, err := lr.Next()
		if err != nil {
			break
		}
		last = append(last[:0], line...)
	}
	var s chain.Summary
	var p chain.Parser
	if err := p.ParseSummary(last, &s); err != nil {
		return chain.Hash{}, err
	}
	return s.Hash, nil
}

// report is one line of list and verify.
type report struct {
	Name    string `json:"name"`
	Time    string `json:"time,omitempty"`
	Size    int64  `json:"size"`
	Height  uint64 `json:"height"`
	Tip     string `json:"tip,omitempty"`
	Valid   bool   `json:"valid"`
	Problem string `json:"problem,omitempty"`
}

// check verifies one chain file fully.
func check(ctx context.Context, path string, open validate.Opener) report {
	r := report{Name: filepath.Base(path)}
	f, err := os.Open(path)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	defer f.Close()
	if st, err := f.Stat(); err == nil {
		r.Size = st.Size()
	}
	res, err := validate.VerifyReader(ctx, f, validate.Options{}, open, nil)
	if err != nil {
		r.Problem = err.Error()
		return r
	}
	r.Valid, r.Height, r.Tip = true, res.Tip.Index, res.Tip.Hash.String()
	return r
}

func (c *CLI) list(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	all, err := List(dir)
	if err != nil {
		return err
	}
	open, closeAll := env.Opener()
	defer closeAll()
	var reps []report
	for _, b := range all {
		r := check(ctx, b.Path, open)
		r.Time = b.Time.Format(time.RFC3339)
		reps = append(reps, r)
	}
	if c.List.JSON {
		enc := json.NewEncoder(env.Stdout)
		return enc.Encode(reps)
	}
	tw := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "BACKUP\tTIME\tSIZE\tHEIGHT\tTIP\tVERIFIES")
	for _, r := range reps {
		ok := "yes"
		if !r.Valid {
			ok = "NO: " + r.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.16s\t%s\n", r.Name, r.Time, r.Size, r.Height, r.Tip, ok)
	}
	if len(reps) == 0 {
		fmt.Fprintln(tw, "(no backups in "+dir.File(store.BackupDir)+")")
	}
	return tw.Flush()
}

func (c *CLI) verifyAll(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	open, closeAll := env.Opener()
	defer closeAll()
	bad := 0
	say := func(format string, args ...any) { fmt.Fprintf(env.Stdout, format+"\n", args...) }
	chainPath := dir.File(store.ChainFile)
	want, herr := dir.ReadHash()
	got, cerr := HashFile(chainPath)
	switch {
	case cerr != nil:
		return cerr
	case herr != nil:
		bad++
		say("node.hash: PROBLEM: %v", herr)
	case want != got:
		bad++
		say("node.hash: MISMATCH: node.hash says %s, node.chain is %s (bc-backup rewrites it once the chain is verified)", want, got)
	default:
		say("node.hash: OK: %s", got)
	}
	if r := check(ctx, chainPath, open); r.Valid {
		say("node.chain: OK: height %d, tip %.16s…", r.Height, r.Tip)
	} else {
		bad++
		say("node.chain: INVALID: %s", r.Problem)
	}
	all, err := List(dir)
	if err != nil {
		return err
	}
	for _, b := range all {
		if r := check(ctx, b.Path, open); r.Valid {
			say("%s: OK: height %d, tip %.16s…", b.Name, r.Height, r.Tip)
		} else {
			bad++
			say("%s: INVALID: %s", b.Name, r.Problem)
		}
	}
	if bad > 0 {
		return cli.Failed(fmt.Errorf("%d problem(s) found", bad))
	}
	return nil
}

// restore replaces the chain with a backup. It refuses while a writer holds
// the chain lock (after the bounded wait), keeps the current chain aside as
// a backup first, and puts the messages of blocks the backup lacks back
// into pending, so that nothing acknowledged is lost.
func (c *CLI) restore(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	src := c.Restore.Backup
	if !strings.ContainsRune(src, os.PathSeparator) {
		src = filepath.Join(dir.File(store.BackupDir), src)
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
	backups, err := dir.Subdir(store.BackupDir)
	if err != nil {
		return err
	}
	aside := filepath.Join(backups, "node_"+time.Now().UTC().Format("20060102_150405")+"-before-restore.chain")
	res, err := dir.Reorg(ctx, store.ReorgSpec{Prev: tip.Hash, Base: g.Summary(), Keep: int64(len(genesisLine)), Lines: br, Aside: aside})
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
	fmt.Fprintf(env.Stdout, "restored %s: height %d, tip %s; %d messages of dropped blocks are pending again; the previous chain is in %s\n",
		filepath.Base(src), res.Tip.Index, res.Tip.Hash, res.Repended, aside)
	return nil
}
