package peer

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// A save never puts back an older book: a ban made while other saves run
// survives them all, and the removals bc-serve wrote into the file are
// taken in.
func TestSaveBookKeepsNewerChanges(t *testing.T) {
	ctx := context.Background()
	d, err := store.Open(t.TempDir(), store.Options{LockWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g := &Gossiper{dir: d, log: slog.New(slog.DiscardHandler)}
	g.cfg.Defaults()
	const liar, removed = node.Addr("127.0.0.1:1"), node.Addr("127.0.0.1:2")
	g.book.Neighbours = []node.Addr{liar, removed}
	g.book.Entry(liar)
	g.book.Entry(removed)
	g.saveBook(ctx)
	// bc-serve's DELETE /neighbours, in the file.
	if err := node.UpdateBook(ctx, d, func(b *node.Book) error { b.Remove(removed, time.Now()); return nil }); err != nil {
		t.Fatal(err)
	}
	until := time.Now().Add(time.Hour).UnixMilli()
	// Another writer holds the file's lock; a save starts and waits for
	// it; meanwhile a ban is made in memory; then the lock is released.
	held, release := make(chan struct{}), make(chan struct{})
	go func() {
		_ = node.UpdateBook(ctx, d, func(*node.Book) error { close(held); <-release; return nil })
	}()
	<-held
	var wg sync.WaitGroup
	wg.Go(func() { g.saveBook(ctx) })
	time.Sleep(200 * time.Millisecond) // the save is waiting for the lock
	g.mu.Lock()
	g.book.Entry(liar).Banned = until
	g.mu.Unlock()
	close(release)
	wg.Wait()
	for range 8 {
		wg.Go(func() { g.saveBook(ctx) })
	}
	wg.Wait()
	b, err := node.ReadBook(d)
	if err != nil {
		t.Fatal(err)
	}
	if k := b.Lookup(liar); k == nil || k.Banned != until {
		t.Fatalf("the ban was lost by a save: %+v", k)
	}
	if b.IsNeighbour(removed) || b.Lookup(removed) != nil || len(b.Removed) != 1 {
		t.Fatalf("bc-serve's removal was not kept: %+v", b)
	}
	g.mu.Lock()
	defer g.mu.Unlock()
	if g.book.IsNeighbour(removed) {
		t.Fatal("the gossiper still talks to the removed address")
	}
}

// A contact that was in flight when a peer was banned, and ends after the
// ban (a success or a failure), leaves the ban and its reason in the book.
func TestBanOutlivesContactInFlight(t *testing.T) {
	d, err := store.Open(t.TempDir(), store.Options{LockWait: 10 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	g := &Gossiper{dir: d, log: slog.New(slog.DiscardHandler), peers: map[node.Addr]*peerState{}}
	g.cfg.Defaults()
	const liar, other = node.Addr("127.0.0.1:1"), node.Addr("127.0.0.1:2")
	g.book.Neighbours = []node.Addr{liar, other}
	g.book.Entry(liar)
	g.book.Entry(other)
	g.ban(liar, time.Hour, "unproven tie")
	g.ok(liar)                                // a status request that left before the ban
	g.failed(other, context.DeadlineExceeded) // and another peer's failure
	g.ban(other, time.Hour, "invalid block")  // banned, then
	g.failed(other, context.DeadlineExceeded) // its last request times out
	g.saveBook(context.Background())
	b, err := node.ReadBook(d)
	if err != nil {
		t.Fatal(err)
	}
	for a, want := range map[node.Addr]string{liar: "unproven tie", other: "invalid block"} {
		k := b.Lookup(a)
		if k == nil || k.Banned <= time.Now().UnixMilli() || k.BanReason != want {
			t.Errorf("%s after a contact in flight: %+v, want banned for %q", a, k, want)
		}
	}
}

// Announcers become announcement targets only when their claimed address
// is where they called from, at most maxInbound of them.
func TestInboundPeers(t *testing.T) {
	g := &Gossiper{log: slog.New(slog.DiscardHandler), peers: map[node.Addr]*peerState{}}
	g.cfg.Defaults()
	g.cfg.Advertise = "127.0.0.1:1"
	g.book.Neighbours = []node.Addr{"127.0.0.1:2"}
	g.noteInbound(node.Announcement{From: "10.0.0.9:5000", Remote: "127.0.0.1"})  // spoofed: not where it came from
	g.noteInbound(node.Announcement{From: "127.0.0.1:2", Remote: "127.0.0.1"})    // a neighbour already
	g.noteInbound(node.Announcement{From: "example.org:5000", Remote: "1.2.3.4"}) // a name: not checkable
	if got := len(g.announceTargets()); got != 1 {
		t.Fatalf("%d targets, want the neighbour alone", got)
	}
	for i := range 20 {
		g.noteInbound(node.Announcement{From: node.Addr(fmt.Sprintf("127.0.0.%d:7000", i+10)), Remote: fmt.Sprintf("127.0.0.%d", i+10)})
	}
	targets := g.announceTargets()
	if len(targets) != 1+maxInbound {
		t.Fatalf("%d targets, want the neighbour and %d inbound", len(targets), maxInbound)
	}
	if !slices.ContainsFunc(targets, func(x target) bool { return x.addr == "127.0.0.29:7000" && x.trust == ScopeLoopback }) {
		t.Fatalf("the newest announcer is not a target: %v", targets)
	}
}
