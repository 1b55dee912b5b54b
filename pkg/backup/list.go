package backup

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

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
	fmt.Fprintf(tw, "BACKUP\t%s\tSIZE\tHEIGHT\tTIP\tVERIFIES\n", cmdline.TimeHeader())
	for i, r := range reps {
		ok := "yes"
		if !r.Valid {
			ok = "NO: " + r.Problem
		}
		fmt.Fprintf(tw, "%s\t%s\t%d\t%d\t%.12s…\t%s\n", r.Name, cmdline.TableTime(all[i].Time), r.Size, r.Height, r.Tip, ok)
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
