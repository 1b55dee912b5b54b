package store_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

func TestMain(m *testing.M) {
	if dir := os.Getenv("BC_REORG_CHILD"); dir != "" {
		reorgChild(dir)
	}
	os.Exit(m.Run())
}

var must = nodetest.Must

func newChain(t testing.TB, blocks int) *chaintest.Builder {
	b, err := chaintest.NewBuilder(strategy.Default{}, 4)
	must(t, err)
	must(t, b.AddN(blocks, 2))
	return b
}

func openDir(t testing.TB, path string) *store.Dir {
	d, err := store.Open(path, store.Options{LockWait: 2 * time.Second})
	must(t, err)
	return d
}

func TestInitAndParams(t *testing.T) {
	d := openDir(t, t.TempDir())
	if _, err := d.Init(context.Background(), nil); !errors.Is(err, store.ErrNoChain) {
		t.Fatalf("Init without params on an empty dir: %v", err)
	}
	p := chain.Params{Version: chain.FormatVersion, Network: "bc", Strategy: "default", Difficulty: 20}
	g, err := d.Init(context.Background(), &p)
	must(t, err)
	want, _ := chain.Genesis(p)
	if g.Hash != want.Hash {
		t.Fatal("Init wrote another genesis")
	}
	// Same params, or none: fine. Contradicting ones: refused.
	if _, err := d.Init(context.Background(), &p); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Init(context.Background(), nil); err != nil {
		t.Fatal(err)
	}
	other := p
	other.Difficulty = 21
	var mismatch *store.ParamsMismatchError
	if _, err := d.Init(context.Background(), &other); !errors.As(err, &mismatch) {
		t.Fatalf("contradicting params: %v", err)
	}
}

// A chain whose last line is cut at any byte recovers: the torn bytes are
// kept aside, every complete block stays.
func TestRecoverTornTailAtEveryOffset(t *testing.T) {
	b := newChain(t, 3)
	full := b.Bytes()
	lines := b.Lines()
	lastStart := len(full) - len(lines[len(lines)-1]) - 1
	dir := t.TempDir()
	for cut := lastStart + 1; cut < len(full); cut++ {
		path := filepath.Join(dir, fmt.Sprint(cut))
		must(t, os.MkdirAll(path, 0o755))
		must(t, os.WriteFile(filepath.Join(path, store.ChainFile), full[:cut], 0o644))
		d := openDir(t, path)
		res, err := d.Recover(context.Background())
		if err != nil {
			t.Fatalf("cut at %d: %v", cut, err)
		}
		if res.Blocks != uint64(len(lines)-1) || res.MovedSize != int64(cut-lastStart) {
			t.Fatalf("cut at %d: kept %d blocks, moved %d bytes", cut, res.Blocks, res.MovedSize)
		}
		got, _ := os.ReadFile(filepath.Join(path, store.ChainFile))
		if !bytes.Equal(got, full[:lastStart]) {
			t.Fatalf("cut at %d: valid prefix changed", cut)
		}
		aside, err := os.ReadFile(res.MovedTo)
		if err != nil || !bytes.Equal(aside, full[lastStart:cut]) {
			t.Fatalf("cut at %d: torn bytes not kept aside (%v)", cut, err)
		}
	}
	// A complete file needs nothing.
	path := filepath.Join(dir, "complete")
	must(t, os.MkdirAll(path, 0o755))
	must(t, os.WriteFile(filepath.Join(path, store.ChainFile), full, 0o644))
	res, err := openDir(t, path).Recover(context.Background())
	if err != nil || res.MovedTo != "" || res.Blocks != uint64(len(lines)) {
		t.Fatalf("complete chain: %+v %v", res, err)
	}
}

// A corrupt (complete) last line is moved aside too; damage before it is
// refused and nothing is changed.
func TestRecoverCorruption(t *testing.T) {
	b := newChain(t, 4)
	lines := b.Lines()
	join := func(ls [][]byte) []byte { return append(bytes.Join(ls, []byte("\n")), '\n') }

	garbledLast := append([][]byte(nil), lines...)
	garbledLast[len(lines)-1] = bytes.Replace(lines[len(lines)-1], []byte("message"), []byte("mess@ge"), 1)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, store.ChainFile), join(garbledLast), 0o644))
	res, err := openDir(t, dir).Recover(context.Background())
	if err != nil || res.Blocks != uint64(len(lines)-1) || res.MovedTo == "" {
		t.Fatalf("garbled last line: %+v %v", res, err)
	}

	for _, at := range []int{1, 2, 3} {
		garbled := append([][]byte(nil), lines...)
		garbled[at] = bytes.Replace(lines[at], []byte("message"), []byte("mess@ge"), 1)
		dir := t.TempDir()
		data := join(garbled)
		must(t, os.WriteFile(filepath.Join(dir, store.ChainFile), data, 0o644))
		_, err := openDir(t, dir).Recover(context.Background())
		var ce *store.CorruptError
		if !errors.As(err, &ce) || ce.Line != at+1 || ce.Offset != int64(len(join(lines[:at]))) {
			t.Fatalf("garbled line %d: %v", at+1, err)
		}
		after, _ := os.ReadFile(filepath.Join(dir, store.ChainFile))
		if !bytes.Equal(after, data) {
			t.Fatal("a refused recovery changed the file")
		}
		if !strings.Contains(err.Error(), "truncate -s") {
			t.Fatalf("error gives no way out: %v", err)
		}
	}
}

func setup(t testing.TB, blocks int) (*store.Dir, *chaintest.Builder) {
	b := newChain(t, blocks)
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, store.ChainFile), b.Bytes(), 0o644))
	return openDir(t, dir), b
}

func TestAppendCompareAndSwap(t *testing.T) {
	d, b := setup(t, 2)
	ctx := context.Background()
	oldTip := b.Tip().Hash
	nb, err := b.Add("hello")
	must(t, err)
	must(t, d.Append(ctx, oldTip, [][]byte{nb.AppendJSON(nil)}))
	// Built on a stale tip: refused.
	stale := b.Next("late")
	stale.PrevHash = oldTip
	stale.Index = nb.Index
	must(t, b.Seal(stale, 0))
	err = d.Append(ctx, oldTip, [][]byte{stale.AppendJSON(nil)})
	var moved *store.TipMovedError
	if !errors.As(err, &moved) || moved.Have.Hash != nb.Hash {
		t.Fatalf("stale append: %v", err)
	}
	// An invalid line is refused even on the right tip.
	bad := b.Next("bad")
	bad.Hash = chain.Hash{1}
	if err := d.Append(ctx, nb.Hash, [][]byte{bad.AppendJSON(nil)}); err == nil {
		t.Fatal("appended a block with a wrong hash")
	}
	got, _ := os.ReadFile(d.File(store.ChainFile))
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("chain file differs from the builder's chain")
	}
	// A torn tail left by a crashed writer is moved aside by the next append.
	f, _ := os.OpenFile(d.File(store.ChainFile), os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`{"index":4,"timest`)
	f.Close()
	nb2, err := b.Add("after the crash")
	must(t, err)
	must(t, d.Append(ctx, nb.Hash, [][]byte{nb2.AppendJSON(nil)}))
	got, _ = os.ReadFile(d.File(store.ChainFile))
	if !bytes.Equal(got, b.Bytes()) {
		t.Fatal("torn tail not repaired before the append")
	}
}

// Concurrent writers on one tip: exactly one wins, the file stays valid.
func TestConcurrentAppends(t *testing.T) {
	d, b := setup(t, 1)
	tip := b.Tip()
	var wg sync.WaitGroup
	wins := make(chan int, 8)
	for w := 0; w < 8; w++ {
		nb := b.Next(fmt.Sprintf("writer %d", w))
		nb.Timestamp += uint64(w)
		must(t, b.Seal(nb, tip.Proof))
		wg.Add(1)
		go func(w int, line []byte) {
			defer wg.Done()
			if d.Append(context.Background(), tip.Hash, [][]byte{line}) == nil {
				wins <- w
			}
		}(w, nb.AppendJSON(nil))
	}
	wg.Wait()
	close(wins)
	if len(wins) != 1 {
		t.Fatalf("%d writers won", len(wins))
	}
	res, err := d.Recover(context.Background())
	if err != nil || res.Blocks != 3 {
		t.Fatalf("after the race: %+v %v", res, err)
	}
}

// forkOf builds a fork of b that keeps blocks 0..from and adds n blocks
// of its own; the first of them also carries shared, a message of b's
// dropped blocks.
func forkOf(t *testing.T, b *chaintest.Builder, from, n int, shared chain.Message) *chaintest.Builder {
	fork, err := chaintest.NewBuilder(strategy.Default{}, 4)
	must(t, err)
	fork.Blocks = append(fork.Blocks[:0], b.Blocks[:from+1]...)
	fork.Clock = b.Blocks[from].Timestamp + 500
	nb := fork.Next(fmt.Sprint("fork block ", from+1))
	nb.Data = append(nb.Data, shared)
	must(t, fork.Append(nb))
	must(t, fork.AddN(n-1, 1))
	return fork
}

// tail returns the lines of bld after block from, as a file's content.
func tail(bld *chaintest.Builder, from int) []byte {
	var out []byte
	for _, blk := range bld.Blocks[from+1:] {
		out = append(blk.AppendJSON(out), '\n')
	}
	return out
}

// Reorg swaps the chain for a fork and re-pends the messages of the dropped
// blocks that the fork lacks (not those it carries).
func TestReorg(t *testing.T) {
	d, b := setup(t, 4)
	ctx := context.Background()
	v, err := d.OpenView(store.ViewOptions{IDs: true, Hashes: true})
	must(t, err)
	defer v.Close()
	fork := forkOf(t, b, 2, 3, b.Blocks[3].Data[0])
	keep, _ := v.End(2)
	base, _ := v.Summary(2)
	spec := store.ReorgSpec{Prev: b.Tip().Hash, Base: base, Keep: keep, Lines: bytes.NewReader(tail(fork, 2)),
		Cause: "a test", Origin: store.OriginPeer("127.0.0.1:9")}
	res, err := d.Reorg(ctx, spec)
	must(t, err)
	// The record: what was dropped, what came, what went back to pending.
	recs, err := d.Reorgs(10)
	must(t, err)
	if len(recs) != 1 || recs[0].Cause != "a test" || recs[0].Base.Index != 2 || recs[0].DroppedCount != 2 || len(recs[0].Dropped) != 2 ||
		recs[0].Dropped[0].Hash != b.Blocks[3].Hash || recs[0].AddedCount != 3 || recs[0].NewTip.Hash != fork.Tip().Hash ||
		recs[0].OldTip.Hash != b.Tip().Hash || recs[0].RependedCount != 3 || len(recs[0].Repended) != 3 {
		t.Fatalf("reorg record %+v", recs)
	}
	if o, ok, err := d.OriginOf(fork.Tip().Hash); err != nil || !ok || o.Origin != "peer 127.0.0.1:9" || o.Index != 5 {
		t.Fatalf("origin of an adopted block: %+v %v %v", o, ok, err)
	}
	got, _ := os.ReadFile(d.File(store.ChainFile))
	if !bytes.Equal(got, fork.Bytes()) {
		t.Fatal("replaced chain differs from the fork")
	}
	// Blocks 3 and 4 had two messages each; the fork carries one of them.
	if res.Dropped != 2 || res.Added != 3 || res.Repended != 3 || res.Tip.Hash != fork.Tip().Hash {
		t.Fatalf("reorg result %+v", res)
	}
	log := d.FollowPending()
	defer log.Close()
	pend, _, err := log.Read()
	must(t, err)
	want := map[string]bool{b.Blocks[3].Data[1].ID: true, b.Blocks[4].Data[0].ID: true, b.Blocks[4].Data[1].ID: true}
	for _, e := range pend {
		if !want[e.ID] {
			t.Fatalf("%s re-pended, but the fork carries it", e.ID)
		}
		delete(want, e.ID)
	}
	if len(want) > 0 {
		t.Fatalf("not re-pended: %v", want)
	}
	ch, changed, err := v.Refresh()
	must(t, err)
	if !changed || !ch.Replaced || ch.Fork != 3 || ch.Tip != 5 || ch.OldTip != 4 {
		t.Fatalf("view saw %+v", ch)
	}
	if v.HasID(b.Blocks[3].Data[1].ID) || !v.HasID(fork.Blocks[3].Data[0].ID) {
		t.Fatal("id index not rebuilt")
	}
	if i, ok := v.IndexOf(fork.Tip().Hash); !ok || i != 5 {
		t.Fatal("hash index not rebuilt")
	}
	// From a stale tip: refused, nothing written.
	spec.Lines = bytes.NewReader(tail(fork, 2))
	if _, err := d.Reorg(ctx, spec); !errors.Is(err, store.ErrTipMoved) {
		t.Fatalf("stale reorg: %v", err)
	}
	// Lines that do not follow the base: refused.
	bad := store.ReorgSpec{Prev: fork.Tip().Hash, Base: base, Keep: keep, Lines: bytes.NewReader(tail(b, 3))}
	if _, err := d.Reorg(ctx, bad); err == nil || !strings.Contains(err.Error(), "invalid block") {
		t.Fatalf("reorg with lines that do not follow: %v", err)
	}
}

// reorgChild is the program TestReorgCrash kills: it swaps the chain in
// its directory between two forks for ever.
func reorgChild(path string) {
	d, err := store.Open(path, store.Options{})
	if err != nil {
		os.Exit(3)
	}
	forks := [2][]byte{}
	for i := range forks {
		forks[i], _ = os.ReadFile(filepath.Join(path, fmt.Sprint("fork", i)))
	}
	for {
		v, err := d.OpenView(store.ViewOptions{})
		if err != nil {
			os.Exit(4)
		}
		keep, _ := v.End(2)
		base, _ := v.Summary(2)
		tip := v.Tip()
		v.Close()
		lines := forks[0]
		if tip.Index == 5 { // on fork 0 (5 blocks) go to fork 1 (6), and back
			lines = forks[1]
		}
		if _, err := d.Reorg(context.Background(), store.ReorgSpec{Prev: tip.Hash, Base: base, Keep: keep, Lines: bytes.NewReader(lines)}); err != nil {
			os.Exit(5)
		}
	}
}

// Reorg is crash-safe: killed at any moment while it swaps the chain back
// and forth, the chain verifies and every message of both forks is in the
// chain or pending.
func TestReorgCrash(t *testing.T) {
	b := newChain(t, 2)
	f0 := forkOf(t, b, 2, 3, chain.Message{ID: chain.NewMessageID("shared"), Text: "shared"})
	f1 := forkOf(t, b, 2, 4, chain.Message{ID: chain.NewMessageID("other"), Text: "other"})
	dir := t.TempDir()
	must(t, os.WriteFile(filepath.Join(dir, store.ChainFile), f0.Bytes(), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "fork0"), tail(f0, 2), 0o644))
	must(t, os.WriteFile(filepath.Join(dir, "fork1"), tail(f1, 2), 0o644))
	// Every message of both forks is acknowledged: those of fork 1 (not
	// in the chain yet) are pending.
	all := map[string]bool{}
	var f1only []store.PendingEntry
	for i, bld := range []*chaintest.Builder{f0, f1} {
		for _, blk := range bld.Blocks[3:] {
			for _, m := range blk.Data {
				all[m.ID] = true
				if i == 1 {
					f1only = append(f1only, store.PendingEntry{ID: m.ID, Message: m.Text, Received: 1})
				}
			}
		}
	}
	must(t, openDir(t, dir).AddPending(context.Background(), f1only))
	exe, err := os.Executable()
	must(t, err)
	heights := map[uint64]int{}
	for kill := 0; kill < 20; kill++ {
		cmd := exec.Command(exe, "-test.run=^$")
		cmd.Env = append(os.Environ(), "BC_REORG_CHILD="+dir)
		before, _ := os.ReadFile(filepath.Join(dir, store.ChainFile))
		must(t, cmd.Start())
		// Kill it at a varying moment after its first swap.
		deadline := time.Now().Add(10 * time.Second)
		for now, _ := os.ReadFile(filepath.Join(dir, store.ChainFile)); bytes.Equal(now, before) && time.Now().Before(deadline); now, _ = os.ReadFile(filepath.Join(dir, store.ChainFile)) {
			time.Sleep(time.Millisecond)
		}
		time.Sleep(time.Duration(kill*7%20) * time.Millisecond)
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
		d := openDir(t, dir)
		if _, err := d.Recover(context.Background()); err != nil {
			t.Fatalf("kill %d: %v", kill, err)
		}
		v, err := d.OpenView(store.ViewOptions{IDs: true})
		must(t, err)
		log := d.FollowPending()
		pend, _, err := log.Read()
		must(t, err)
		log.Close()
		pending := map[string]bool{}
		for _, e := range pend {
			pending[e.ID] = true
		}
		for id := range all {
			if !v.HasID(id) && !pending[id] {
				t.Fatalf("kill %d at height %d: message %s is neither in the chain nor pending", kill, v.Height(), id)
			}
		}
		heights[v.Height()]++
		v.Close()
	}
	if heights[5] == 0 || heights[6] == 0 {
		t.Fatalf("the child did not swap the forks between kills (heights seen: %v)", heights)
	}
}

func TestViewFollowsAppends(t *testing.T) {
	d, b := setup(t, 2)
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	must(t, err)
	defer v.Close()
	if v.Height() != 2 {
		t.Fatalf("height %d", v.Height())
	}
	prev := b.Tip().Hash
	nb, _ := b.Add("x", "y")
	must(t, d.Append(context.Background(), prev, [][]byte{nb.AppendJSON(nil)}))
	// A half-written line is not consumed.
	f, _ := os.OpenFile(d.File(store.ChainFile), os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`{"index":4,`)
	f.Close()
	ch, changed, err := v.Refresh()
	must(t, err)
	if !changed || ch.Replaced || !ch.Appended() || ch.Tip != 3 || !v.HasID(nb.Data[1].ID) {
		t.Fatalf("refresh: %+v", ch)
	}
	line, err := v.Line(3)
	must(t, err)
	if !bytes.Equal(line, nb.AppendJSON(nil)) {
		t.Fatal("Line(3) differs")
	}
	var n int
	must(t, v.Lines(0, 100, func(i uint64, l []byte) error { n++; return nil }))
	if n != 4 {
		t.Fatalf("Lines gave %d", n)
	}
}

// A chain file replaced by one of another genesis (or with no valid
// genesis) is refused: the view keeps the chain it had and says why.
func TestViewRefusesForeignReplacement(t *testing.T) {
	d, b := setup(t, 3)
	v, err := d.OpenView(store.ViewOptions{})
	must(t, err)
	defer v.Close()
	other, err := chaintest.NewBuilder(strategy.Default{}, 9) // another difficulty, another genesis
	must(t, err)
	must(t, other.AddN(5, 1))
	for name, content := range map[string][]byte{"foreign": other.Bytes(), "garbage": []byte("not a chain\n")} {
		must(t, d.WriteFileAtomic(store.ChainFile, content, 0o640))
		if _, _, err := v.Refresh(); !errors.Is(err, store.ErrForeignChain) {
			t.Fatalf("%s replacement: Refresh gave %v", name, err)
		}
		if v.Height() != 3 || v.Tip().Hash != b.Tip().Hash {
			t.Fatalf("%s replacement: the view moved to height %d", name, v.Height())
		}
		line, err := v.Line(3)
		must(t, err)
		if !bytes.Equal(line, b.Blocks[3].AppendJSON(nil)) {
			t.Fatalf("%s replacement: the view serves other blocks", name)
		}
	}
	// The chain put back: followed again.
	must(t, d.WriteFileAtomic(store.ChainFile, b.Bytes(), 0o640))
	if _, _, err := v.Refresh(); err != nil {
		t.Fatal(err)
	}
}

// Lines reads in bounded chunks and stops when the file is replaced under
// it, rather than mixing blocks of two files.
func TestLinesStopsAtReplacement(t *testing.T) {
	d, b := setup(t, 3000)
	v, err := d.OpenView(store.ViewOptions{})
	must(t, err)
	defer v.Close()
	n := 0
	err = v.Lines(0, v.Height(), func(i uint64, line []byte) error {
		if uint64(n) != i {
			t.Fatalf("line %d given as %d", n, i)
		}
		n++
		if i == 10 { // a fork replaces the file: same first 2000 blocks, new ones after
			fork := append([]byte(nil), b.Bytes()[:mustEnd(t, v, 1999)]...)
			must(t, d.WriteFileAtomic(store.ChainFile, fork, 0o640))
			_, _, err := v.Refresh()
			must(t, err)
		}
		return nil
	})
	if !errors.Is(err, store.ErrReplaced) {
		t.Fatalf("Lines across a replacement: %v after %d lines", err, n)
	}
	if n >= 3001 {
		t.Fatal("Lines read every line although the file was replaced")
	}
}

func mustEnd(t *testing.T, v *store.View, i uint64) int64 {
	end, ok := v.End(i)
	if !ok {
		t.Fatalf("no block %d", i)
	}
	return end
}

func TestPendingLog(t *testing.T) {
	d := openDir(t, t.TempDir())
	ctx := context.Background()
	log := d.FollowPending()
	defer log.Close()
	e1 := store.PendingEntry{ID: chain.NewMessageID("one"), Message: "one", Received: 1}
	e2 := store.PendingEntry{ID: chain.NewMessageID("two\nlines <b>"), Message: "two\nlines <b>", Received: 2}
	must(t, d.AddPending(ctx, []store.PendingEntry{e1}))
	got, reset, err := log.Read()
	must(t, err)
	if reset || len(got) != 1 || got[0] != e1 {
		t.Fatalf("read %+v %v", got, reset)
	}
	// Reads continue where the last one ended, over several calls.
	for i := 0; i < 3; i++ {
		e := store.PendingEntry{ID: chain.NewMessageID(fmt.Sprint("more ", i)), Message: fmt.Sprint("more ", i), Received: 3}
		must(t, d.AddPending(ctx, []store.PendingEntry{e}))
		got, _, err := log.Read()
		must(t, err)
		if len(got) != 1 || got[0] != e || log.Skipped() != 0 {
			t.Fatalf("read %d: %+v skipped %d", i, got, log.Skipped())
		}
	}
	// A torn line from a crash: the next append starts a new line and only
	// the torn entry is skipped.
	f, _ := os.OpenFile(d.File(store.PendingFile), os.O_APPEND|os.O_WRONLY, 0)
	_, _ = f.WriteString(`{"id":"0b7c5e52-7a3d-4d55-9b0f-3c1c2f0`)
	f.Close()
	must(t, d.AddPending(ctx, []store.PendingEntry{e2}))
	got, _, err = log.Read()
	must(t, err)
	if len(got) != 1 || got[0] != e2 || log.Skipped() != 1 {
		t.Fatalf("after torn line: %+v skipped %d", got, log.Skipped())
	}
	if err := d.AddPending(ctx, []store.PendingEntry{{ID: "nope", Message: "x"}}); err == nil {
		t.Fatal("bad id accepted")
	}
	kept, dropped, err := d.CompactPending(ctx, func() (func(store.PendingEntry) bool, error) {
		return func(e store.PendingEntry) bool { return e.ID != e1.ID }, nil
	})
	must(t, err)
	if kept != 4 || dropped != 1 {
		t.Fatalf("compaction kept %d dropped %d", kept, dropped)
	}
	got, reset, err = log.Read()
	must(t, err)
	if !reset || len(got) != 4 || got[3] != e2 {
		t.Fatalf("after compaction: %+v reset %v", got, reset)
	}
}

func TestLockReportsHolder(t *testing.T) {
	dir := t.TempDir()
	d1, _ := store.Open(dir, store.Options{Owner: "bc-one"})
	d2, _ := store.Open(dir, store.Options{Owner: "bc-two", LockWait: 100 * time.Millisecond})
	l, err := d1.LockChain(context.Background())
	must(t, err)
	_, err = d2.LockChain(context.Background())
	var le *store.LockedError
	if !errors.As(err, &le) || le.PID != os.Getpid() || le.Owner != "bc-one" || !strings.Contains(err.Error(), fmt.Sprintf("locked by PID %d (bc-one)", os.Getpid())) {
		t.Fatalf("second lock: %v", err)
	}
	l.Unlock()
	l2, err := d2.LockChain(context.Background())
	must(t, err)
	l2.Unlock()
	inst, err := d1.Instance("bc-mine")
	must(t, err)
	if _, err := d2.Instance("bc-mine"); err == nil || !strings.Contains(err.Error(), "already runs") {
		t.Fatalf("second instance: %v", err)
	}
	inst.Unlock()
}

func TestHashFile(t *testing.T) {
	d := openDir(t, t.TempDir())
	h := chain.Hash{0xab, 0xcd}
	must(t, d.WriteHash(h))
	got, err := d.ReadHash()
	if err != nil || got != h {
		t.Fatalf("ReadHash = %v, %v", got, err)
	}
	raw, _ := os.ReadFile(d.File(store.HashFile))
	if string(raw) != h.String()+"  node.chain\n" {
		t.Fatalf("node.hash is %q", raw)
	}
}

// The records stay bounded however many blocks are written, keep the
// newest, and a damaged line is skipped.
func TestOriginsBounded(t *testing.T) {
	d, b := setup(t, 1)
	ctx := context.Background()
	must(t, os.WriteFile(d.File(store.OriginsFile), []byte("{torn\n"), 0o644))
	for i := 0; i < 6000; i++ {
		nb := b.Next(fmt.Sprint("block ", i))
		must(t, b.Append(nb))
		must(t, d.AppendFrom(ctx, b.Blocks[len(b.Blocks)-2].Hash, [][]byte{nb.AppendJSON(nil)}, store.OriginMined))
	}
	st, err := os.Stat(d.File(store.OriginsFile))
	must(t, err)
	if st.Size() > 512<<10 {
		t.Fatalf("origins.jsonl grew to %d bytes", st.Size())
	}
	if o, ok, err := d.OriginOf(b.Tip().Hash); err != nil || !ok || o.Origin != store.OriginMined {
		t.Fatalf("the newest block's origin: %+v %v %v", o, ok, err)
	}
	if _, ok, _ := d.OriginOf(b.Blocks[2].Hash); ok {
		t.Fatal("the oldest origins were kept: the file is not bounded by dropping them")
	}
}

// A pending set takes in what its process just wrote without reading it
// back, but reads whenever another appender wrote in between, and after a
// compaction starts over.
func TestPendingSetApply(t *testing.T) {
	d, _ := setup(t, 1)
	ctx := context.Background()
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	must(t, err)
	defer v.Close()
	set := d.NewPendingSet(v)
	defer set.Close()
	entry := func(m string) store.PendingEntry {
		return store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: 1}
	}
	add := func(ms ...string) store.PendingWrite {
		var es []store.PendingEntry
		for _, m := range ms {
			es = append(es, entry(m))
		}
		w, err := d.AddPendingAt(ctx, es)
		must(t, err)
		return w
	}
	// The first write is read (nothing was read before).
	got, err := set.Apply(add("one"), 100)
	must(t, err)
	if len(got) != 1 {
		t.Fatalf("first apply: %v", got)
	}
	// The second is taken as written: its bytes are not read back (they
	// are overwritten here, which a read would report as damage).
	w := add("two", "three")
	f, err := os.OpenFile(d.File(store.PendingFile), os.O_WRONLY, 0)
	must(t, err)
	_, err = f.WriteAt(bytes.Repeat([]byte("x"), int(w.End-w.Start-1)), w.Start)
	must(t, err)
	must(t, f.Close())
	got, err = set.Apply(w, 100)
	must(t, err)
	if len(got) != 2 || got[1].Message != "three" || set.Counts().Messages != 3 || len(set.Damage()) != 0 {
		t.Fatalf("fast apply: %v, %+v, damage %v", got, set.Counts(), set.Damage())
	}
	// Another appender wrote first: both are read.
	must(t, d.AddPending(ctx, []store.PendingEntry{entry("from a peer")}))
	got, err = set.Apply(add("four"), 100)
	must(t, err)
	if len(got) != 2 || got[0].Message != "from a peer" || got[1].Message != "four" {
		t.Fatalf("apply after another appender: %v", got)
	}
}
