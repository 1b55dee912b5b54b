package miner

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cli"
	"github.com/bc-chain/bc/pkg/store"
)

// blockPrinter writes mined block lines to stdout as they come.
type blockPrinter struct {
	mu sync.Mutex
	w  *bufio.Writer
}

func (b *blockPrinter) print(_ *chain.Block, line []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.w.Write(line)
	b.w.WriteByte('\n')
	b.w.Flush()
}

// stdinReader turns stdin lines into durable pending entries.
type stdinReader struct {
	dir      *store.Dir
	ids      sync.Map // id -> struct{}: messages of this run
	count    atomic.Int64
	rejected atomic.Int64
	done     atomic.Bool
	err      atomic.Pointer[error]
}

// maxInputLine bounds a stdin line; longer ones are rejected.
const maxInputLine = 64 << 10

// read reads lines until EOF, appending them to the pending log in batches
// (one fsync per batch), calling wake after each batch.
func (s *stdinReader) read(ctx context.Context, env *cli.Env, in io.Reader, wake func()) {
	defer func() { s.done.Store(true); wake() }()
	lines := make(chan string, 1024)
	go func() {
		defer close(lines)
		br := bufio.NewReaderSize(in, maxInputLine)
		lineNo := 0
		for {
			line, err := readBoundedLine(br, maxInputLine)
			if len(line) > 0 || err == nil {
				lineNo++
				if line == "" {
					continue
				}
				if cerr := chain.CheckNewMessage(line); cerr != nil || len(line) >= maxInputLine {
					if cerr == nil {
						cerr = fmt.Errorf("longer than %d bytes", chain.MaxMessageBytes)
					}
					s.rejected.Add(1)
					env.Log.Error("stdin line is not a message; skipped", "line", lineNo, "error", cerr)
					continue
				}
				select {
				case lines <- line:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				if !errors.Is(err, io.EOF) {
					e := fmt.Errorf("read stdin: %w", err)
					s.err.Store(&e)
				}
				return
			}
		}
	}()
	for {
		line, ok := <-lines
		if !ok {
			return
		}
		batch := []store.PendingEntry{s.entry(line)}
	more:
		for len(batch) < 1000 {
			select {
			case l, ok := <-lines:
				if !ok {
					break more
				}
				batch = append(batch, s.entry(l))
			case <-time.After(2 * time.Millisecond):
				break more
			}
		}
		if err := s.dir.AddPending(ctx, batch); err != nil {
			e := fmt.Errorf("store messages from stdin: %w", err)
			s.err.Store(&e)
			return
		}
		s.count.Add(int64(len(batch)))
		wake()
	}
}

func (s *stdinReader) entry(line string) store.PendingEntry {
	e := store.PendingEntry{ID: chain.NewMessageID(line), Message: line, Received: uint64(time.Now().UnixMilli())}
	s.ids.Store(e.ID, struct{}{})
	return e
}

// allMined reports whether every message read so far is in the chain.
func (s *stdinReader) allMined(inChain func(string) bool) bool {
	all := true
	s.ids.Range(func(k, _ any) bool {
		if inChain(k.(string)) {
			s.ids.Delete(k)
			return true
		}
		all = false
		return false
	})
	return all
}

// readBoundedLine reads one line without its newline; a longer line than
// max is returned truncated to max bytes (and the rest discarded).
func readBoundedLine(br *bufio.Reader, max int) (string, error) {
	var sb strings.Builder
	for {
		frag, isPrefix, err := br.ReadLine()
		if sb.Len() < max {
			sb.Write(frag[:min(len(frag), max-sb.Len())])
		}
		if err != nil {
			return sb.String(), err
		}
		if !isPrefix {
			return sb.String(), nil
		}
	}
}

// mineStdin mines the lines of stdin and exits when they are all in blocks.
func (c *CLI) mineStdin(ctx context.Context, env *cli.Env, dir *store.Dir, m *Miner, _ *blockPrinter) error {
	r := &stdinReader{dir: dir}
	go r.read(ctx, env, env.Stdin, m.Wake)
	err := m.Run(ctx, func() bool {
		if p := r.err.Load(); p != nil {
			return true
		}
		return r.done.Load() && r.allMined(m.view.HasID)
	}, 3)
	if err != nil {
		return err
	}
	if p := r.err.Load(); p != nil {
		return *p
	}
	if ctx.Err() != nil {
		// Stopped on request (Ctrl-C ends `journalctl -f | bc-mine -`):
		// what was read is in the pending log, so nothing is lost; the
		// next bc-mine on the directory mines the rest.
		left := 0
		if err := m.refresh(); err == nil {
			left = m.Pending()
		}
		env.Log.Info("stopped", "messages_read", r.count.Load(), "blocks", m.Stats().Blocks, "still_pending", left)
		return nil
	}
	env.Log.Info("stdin mined", "messages", r.count.Load(), "blocks", m.Stats().Blocks)
	if n := r.rejected.Load(); n > 0 {
		return cli.Failed(fmt.Errorf("%d stdin %s (see the log); the rest is mined", n, plural(int(n), "line was not a message", "lines were not messages")))
	}
	return nil
}

// feed hands stdin's messages to the bc-mine that holds the directory and
// prints the blocks that carry them as they appear.
func (c *CLI) feed(ctx context.Context, env *cli.Env, dir *store.Dir) error {
	v, err := dir.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		return err
	}
	defer v.Close()
	wake := make(chan struct{}, 1)
	poke := func() {
		select {
		case wake <- struct{}{}:
		default:
		}
	}
	watchCtx, stop := context.WithCancel(ctx)
	defer stop()
	go dir.Watch(watchCtx, c.Rescan, nil, func(map[string]bool) { poke() })
	r := &stdinReader{dir: dir}
	go r.read(ctx, env, env.Stdin, poke)
	out := bufio.NewWriter(env.Stdout)
	printed := v.Height()
	for {
		if _, _, err := v.Refresh(); err != nil {
			return err
		}
		for printed < v.Height() {
			printed++
			line, err := v.Line(printed)
			if err != nil {
				return err
			}
			out.Write(line)
			out.WriteByte('\n')
		}
		out.Flush()
		if p := r.err.Load(); p != nil {
			return *p
		}
		if r.done.Load() && r.allMined(v.HasID) {
			if n := r.rejected.Load(); n > 0 {
				return cli.Failed(fmt.Errorf("%d stdin lines were not messages (see the log); the rest is mined", n))
			}
			return nil
		}
		select {
		case <-wake:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// plural picks the singular or plural form for n.
func plural(n int, one, many string) string {
	if n == 1 {
		return one
	}
	return many
}
