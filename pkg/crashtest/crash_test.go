package crashtest

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
)

var (
	kills = flag.Int("kills", 40, "SIGKILLs of the crash test (make soak runs 1000)")
	seed  = flag.Uint64("seed", 0, "random seed of the crash test (0: from the clock)")
)

// load adds messages to a node as fast as it takes them, remembering every
// id that got a 200 (acknowledged, so durable).
type load struct {
	url    string
	paused atomic.Bool
	mu     sync.Mutex
	acked  []string
	tried  atomic.Int64
	fails  atomic.Int64
}

func (l *load) run(ctx context.Context, every time.Duration) {
	c := &http.Client{Timeout: 2 * time.Second}
	for i := 0; ctx.Err() == nil; i++ {
		if l.paused.Load() {
			time.Sleep(every)
			continue
		}
		l.tried.Add(1)
		msg := fmt.Sprintf("load %d", i)
		id := chain.NewMessageID(msg)
		body := fmt.Sprintf(`{"message":%q,"id":%q}`, msg, id)
		r, err := c.Post(l.url+"/add", "application/json", strings.NewReader(body))
		if err == nil {
			r.Body.Close()
			if r.StatusCode == 200 {
				l.mu.Lock()
				l.acked = append(l.acked, id)
				l.mu.Unlock()
			} else {
				l.fails.Add(1)
			}
		} else {
			l.fails.Add(1)
		}
		select {
		case <-ctx.Done():
		case <-time.After(every):
		}
	}
}

func (l *load) snapshot() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.acked...)
}

// missing returns the acknowledged ids that are neither in the chain nor
// pending. It reads under the shared pending lock (no compaction), the chain
// first and the pending log second: a reorg re-pends before it replaces the
// chain, so a message cannot slip between the two reads.
func missing(t *testing.T, d *store.Dir, ids []string) []string {
	hold, err := d.HoldPending(context.Background())
	if err != nil {
		t.Fatalf("pending lock: %v", err)
	}
	defer hold.Unlock()
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		t.Fatalf("the chain directory does not open: %v", err)
	}
	defer v.Close()
	log := d.FollowPending()
	defer log.Close()
	es, _, err := log.Read()
	if err != nil {
		t.Fatal(err)
	}
	pending := map[string]bool{}
	for _, e := range es {
		pending[e.ID] = true
	}
	var out []string
	for _, id := range ids {
		if !v.HasID(id) && !pending[id] {
			out = append(out, id)
		}
	}
	return out
}

func fileHash(t *testing.T, path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:]) + "  node.chain\n"
}

// TestCrashLoop runs a node (all four daemons) under steady load, with a
// peer that syncs and mines too, and SIGKILLs one of the node's daemons at
// a random moment, again and again. After every kill the directory must
// open, the chain verify, and every acknowledged message be in the chain
// or pending; node.hash must match the chain once bc-backup has had a
// quiet moment. At the end every acknowledged message is in exactly one
// block.
func TestCrashLoop(t *testing.T) {
	r := *seed
	if r == 0 {
		r = uint64(time.Now().UnixNano())
	}
	rng := rand.New(rand.NewPCG(r, r^0x9e3779b97f4a7c15))
	t.Logf("seed %d (rerun with -args -seed %d)", r, r)

	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	a, b := c.Node("a", 10), c.Node("b", 10)
	a.Start("bc-mine", "--max-messages", "5", "--threads", "1")
	b.Start("bc-mine", "--max-messages", "5", "--threads", "1")
	for _, n := range []*nodetest.Node{a, b} {
		n.Start("bc-serve", "--listen", n.Addr())
		n.WaitHTTP()
	}
	a.Start("bc-gossip", append([]string{"--peers", b.Addr(), "--advertise", a.Addr()}, fastGossip...)...)
	b.Start("bc-gossip", append([]string{"--peers", a.Addr(), "--advertise", b.Addr()}, fastGossip...)...)
	a.Start("bc-backup", "--debounce", "50ms", "--min-interval", "500ms", "--interval", "1s", "--log-level", "debug")

	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	la, lb := &load{url: a.URL()}, &load{url: b.URL()}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); la.run(ctx, 10*time.Millisecond) }()
	go func() { defer wg.Done(); lb.run(ctx, 150*time.Millisecond) }()

	d := a.Dir()
	daemons := []string{"bc-mine", "bc-serve", "bc-gossip", "bc-backup"}
	crashed := map[string]int{}
	hits := 0
	for i := 0; i < *kills; i++ {
		time.Sleep(time.Duration(20+rng.IntN(280)) * time.Millisecond)
		name := daemons[rng.IntN(len(daemons))]
		p := a.Proc(name)
		if p == nil || !proctest.Alive(p.PID()) {
			t.Fatalf("kill %d: %s was not running", i, name)
		}
		ackedBefore := la.snapshot()
		p.Kill() // SIGKILL
		hits++
		crashed[name]++

		// The directory opens (a torn tail is repaired, damage refused) ...
		if _, err := d.Recover(context.Background()); err != nil {
			t.Fatalf("kill %d (%s): the chain directory does not open: %v", i, name, err)
		}
		// ... the chain verifies ...
		if out, e, code := c.Bin.Run(t, "", "bc-verify", "--quiet", d.File(store.ChainFile)); code != 0 {
			t.Fatalf("kill %d (%s): bc-verify exit %d: %s %s", i, name, code, out, e)
		}
		// ... and nothing acknowledged is lost.
		if lost := missing(t, d, ackedBefore); len(lost) > 0 {
			t.Fatalf("kill %d (%s): %d acknowledged messages are neither mined nor pending, e.g. %s", i, name, len(lost), lost[0])
		}
		a.Restart(name)
		if name == "bc-serve" {
			a.WaitHTTP()
		}
		if i%10 == 9 {
			checkHash(t, a, la, lb)
		}
	}
	stop()
	wg.Wait()
	checkHash(t, a, la, lb)

	// Final state: every acknowledged message of both loads is mined, each
	// exactly once, and both nodes agree.
	all := append(la.snapshot(), lb.snapshot()...)
	deadline := time.Now().Add(2 * time.Minute)
	for {
		ma, mb := notMined(t, a.Dir(), all), notMined(t, b.Dir(), all)
		if len(ma) == 0 && len(mb) == 0 && a.DiskTip().Hash.String() == b.DiskTip().Hash.String() {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 2 min: %d acknowledged messages not mined at a (height %d), %d at b (height %d), tips %s %s; e.g. %v %v\n--- a's gossip:\n%s\n--- b's gossip:\n%s\n--- a's miner:\n%s",
				len(ma), a.DiskTip().Index, len(mb), b.DiskTip().Index, a.DiskTip().Hash.String(), b.DiskTip().Hash.String(), first(ma), first(mb),
				tail(a.Proc("bc-gossip").Output()), tail(b.Proc("bc-gossip").Output()), tail(a.Proc("bc-mine").Output()))
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, n := range []*nodetest.Node{a, b} {
		counts := idCounts(t, n.Dir())
		for _, id := range all {
			if counts[id] != 1 {
				t.Fatalf("%s: acknowledged message %s is in %d blocks", n.Name, id, counts[id])
			}
		}
	}
	torn, _ := filepath.Glob(filepath.Join(d.Path(), store.TornDir, "*"))
	t.Logf("%d kills (%v), %d acknowledged messages at a and %d at b (of %d and %d tried), %d torn tails repaired, final height %d",
		hits, crashed, len(la.snapshot()), len(lb.snapshot()), la.tried.Load(), lb.tried.Load(), len(torn), a.DiskTip().Index)
	// The faults really happened: every kill hit a live daemon, each kind
	// was killed.
	if hits != *kills || len(crashed) < min(4, *kills) {
		t.Fatalf("only %d kills hit, of kinds %v", hits, crashed)
	}
	if len(la.snapshot()) < *kills {
		t.Fatalf("the load was too thin: %d acknowledged messages for %d kills", len(la.snapshot()), *kills)
	}
}

// checkHash pauses the loads until bc-backup has hashed a quiet chain: then
// node.hash must be what sha256sum says of the file.
func checkHash(t *testing.T, a *nodetest.Node, loads ...*load) {
	for _, l := range loads {
		l.paused.Store(true)
		defer l.paused.Store(false)
	}
	d := a.Dir()
	deadline := time.Now().Add(30 * time.Second)
	for {
		got, err := os.ReadFile(d.File(store.HashFile))
		want := fileHash(t, d.File(store.ChainFile))
		if err == nil && string(got) == want {
			return
		}
		if time.Now().After(deadline) {
			p := a.Proc("bc-backup")
			t.Fatalf("node.hash is %q (%v) after 30 s, sha256sum says %q; bc-backup (alive %v) said:\n%s", got, err, want, proctest.Alive(p.PID()), p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// notMined returns the ids not in a block of d's chain.
func notMined(t *testing.T, d *store.Dir, ids []string) []string {
	v, err := d.OpenView(store.ViewOptions{IDs: true})
	if err != nil {
		return ids
	}
	defer v.Close()
	var out []string
	for _, id := range ids {
		if !v.HasID(id) {
			out = append(out, id)
		}
	}
	return out
}

// idCounts counts the blocks each message id appears in.
func idCounts(t *testing.T, d *store.Dir) map[string]int {
	v, err := d.OpenView(store.ViewOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer v.Close()
	counts := map[string]int{}
	err = v.Lines(1, v.Height(), func(_ uint64, line []byte) error {
		var b chain.Block
		if err := json.Unmarshal(line, &b); err != nil {
			return err
		}
		for _, m := range b.Data {
			counts[m.ID]++
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return counts
}

func first(s []string) []string { return s[:min(len(s), 3)] }

func tail(s string) string {
	lines := strings.Split(s, "\n")
	return strings.Join(lines[max(0, len(lines)-15):], "\n")
}
