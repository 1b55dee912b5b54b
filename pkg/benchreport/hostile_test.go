package benchreport

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/internal/fakepeer"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// The hostile-load table: each attack of the threat model, one attacker at
// a time, against a victim node (bc-serve and bc-gossip, default settings)
// that follows an honest miner. For each: the victim's peak RSS, its
// /health p99 during the attack, and how long the honest node's blocks
// take to reach it, against the same without an attacker.

// scenario is one run: an honest miner, a victim, maybe a fake peer.
type scenario struct {
	t       *testing.T
	honest  *nodetest.Node
	victim  *nodetest.Node
	fake    *fakepeer.Peer
	builder *chaintest.Builder // the shared chain, to build attacks on
}

// attack is one row of the table.
type attack struct {
	name   string
	peer   bool     // the victim has the fake peer as a neighbour
	gossip []string // extra victim bc-gossip flags
	run    func(ctx context.Context, s *scenario)
}

// outcome is what a scenario measured.
type outcome struct {
	rssServe, rssGossip int64
	health99            time.Duration
	adoption            time.Duration // slowest of the honest blocks
}

const hostileTimeout = 5 * time.Second // the victim's --timeout (the default)

// attackerIP is where attacks come from: on loopback, another host than
// the honest node and the victim (127.0.0.1), as on a real network.
var attackerIP = net.IPv4(127, 0, 0, 2)

func benchHostile(t *testing.T, r *report, bin string) {
	const sec = "Hostile load (one attacker at a time; victim: bc-serve + bc-gossip with default settings, following an honest miner)"
	lines := hostileChain(t)
	base := runScenario(t, bin, lines, attack{name: "none"})
	r.add(Row{Section: sec, What: "no attacker (baseline)",
		Bc:         fmt.Sprintf("RSS serve %s, gossip %s; /health p99 %s; honest block in %s", mib(base.rssServe), mib(base.rssGossip), msd(base.health99), msd(base.adoption)),
		Comparison: "—", Ratio: "1×", Bar: "—"})
	for _, a := range attacks(lines) {
		o := runScenario(t, bin, lines, a)
		ratio := float64(o.adoption) / float64(max(base.adoption, time.Millisecond))
		ok := max(o.rssServe, o.rssGossip) < 150<<20 && o.health99 < 100*time.Millisecond && o.adoption <= 2*base.adoption+hostileTimeout
		r.add(Row{Section: sec, What: a.name,
			Bc:         fmt.Sprintf("RSS serve %s, gossip %s; /health p99 %s; honest block in %s", mib(o.rssServe), mib(o.rssGossip), msd(o.health99), msd(o.adoption)),
			Comparison: "baseline: honest block in " + msd(base.adoption),
			Ratio:      fmt.Sprintf("%.1f× adoption time", ratio),
			Bar:        "RSS < 150 MiB, p99 < 100 ms, adoption ≤ 2× + one timeout (5 s): " + pass(ok)})
	}
}

func mib(b int64) string         { return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20)) }
func msd(d time.Duration) string { return fmt.Sprintf("%.0f ms", float64(d)/float64(time.Millisecond)) }

// hostileChain is the shared chain: 20,000 blocks at difficulty 8.
func hostileChain(t *testing.T) [][]byte {
	n := 20_000
	if *quick {
		n = 2000
	}
	b, err := chaintest.NewBuilderParams(strategy.Default{}, chain.Params{Version: chain.FormatVersion, Network: chain.DefaultNetwork, Strategy: "default", Difficulty: 8})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.AddN(n, 1); err != nil {
		t.Fatal(err)
	}
	return b.Lines()
}

func runScenario(t *testing.T, bin string, lines [][]byte, a attack) outcome {
	c := nodetest.FromDir(t, bin)
	s := &scenario{t: t, honest: c.Node("honest", 8), victim: c.Node("victim", 8)}
	var file []byte
	for _, l := range lines {
		file = append(append(file, l...), '\n')
	}
	for _, n := range []*nodetest.Node{s.honest, s.victim} {
		if err := os.WriteFile(n.File(store.ChainFile), file, 0o640); err != nil {
			t.Fatal(err)
		}
	}
	bld, err := chaintest.Load(strings.NewReader(string(file)), strategy.Default{})
	if err != nil {
		t.Fatal(err)
	}
	s.builder = bld
	s.fake = fakepeer.Start(t, bld.Blocks[0].Hash)
	s.fake.Source = attackerIP
	s.fake.SetChain(lines)
	s.honest.Start("bc-mine")
	s.honest.Start("bc-serve")
	s.honest.Start("bc-gossip", "--peers", s.victim.Addr(), "--advertise", s.honest.Addr())
	s.victim.Start("bc-serve")
	peers := s.honest.Addr()
	if a.peer {
		peers += "," + s.fake.Addr
	}
	s.victim.Start("bc-gossip", append([]string{"--peers", peers, "--advertise", s.victim.Addr()}, a.gossip...)...)
	ctx, stop := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	if a.run != nil {
		wg.Add(1)
		go func() { defer wg.Done(); a.run(ctx, s) }()
	}
	// Health is sampled through the whole window.
	var lat []time.Duration
	var latMu sync.Mutex
	wg.Add(1)
	go func() {
		defer wg.Done()
		client := &http.Client{Timeout: 10 * time.Second}
		for ctx.Err() == nil {
			start := time.Now()
			if r, err := client.Get(s.victim.URL() + "/health"); err == nil {
				_, _ = io.Copy(io.Discard, r.Body)
				r.Body.Close()
			}
			latMu.Lock()
			lat = append(lat, time.Since(start))
			latMu.Unlock()
			time.Sleep(20 * time.Millisecond)
		}
	}()
	time.Sleep(5 * time.Second) // the attack takes hold
	var slowest time.Duration
	for i := 0; i < 5; i++ {
		id := s.honest.Add(fmt.Sprintf("honest %s %d", a.name, i))
		start := time.Now()
		proctest.Eventually(t, 60*time.Second, "the victim to adopt the honest block", func() bool { return s.victim.Mined(id) })
		slowest = max(slowest, time.Since(start))
		time.Sleep(time.Second)
	}
	stop()
	wg.Wait()
	latMu.Lock()
	defer latMu.Unlock()
	sort.Slice(lat, func(i, j int) bool { return lat[i] < lat[j] })
	o := outcome{rssServe: s.victim.PeakRSS("bc-serve"), rssGossip: s.victim.PeakRSS("bc-gossip"),
		health99: lat[min(len(lat)-1, len(lat)*99/100)], adoption: slowest}
	s.victim.Stop("bc-serve")
	s.victim.Stop("bc-gossip")
	for _, p := range []string{"bc-mine", "bc-serve", "bc-gossip"} {
		s.honest.Stop(p)
	}
	return o
}

// attacks lists the rows of the table.
func attacks(lines [][]byte) []attack {
	return []attack{
		{name: "100 clients read /chain through a 4 KiB receive buffer, reconnecting", run: func(ctx context.Context, s *scenario) {
			loopClients(ctx, 100, func() { slowRead(ctx, s.victim.Addr(), "GET /chain HTTP/1.1\r\nHost: x\r\n\r\n") })
		}},
		{name: "/events clients that never read, 300 at a time, reconnecting", run: func(ctx context.Context, s *scenario) {
			loopClients(ctx, 300, func() { slowRead(ctx, s.victim.Addr(), "GET /events HTTP/1.1\r\nHost: x\r\n\r\n") })
		}},
		{name: "24 parallel 10 MB form bodies to /add, repeatedly", run: func(ctx context.Context, s *scenario) {
			body := "message=" + strings.Repeat("x", 10<<20)
			client := fakepeer.SourceClient(attackerIP)
			loopClients(ctx, 24, func() {
				req, _ := http.NewRequestWithContext(ctx, "POST", s.victim.URL()+"/add", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				if r, err := client.Do(req); err == nil {
					r.Body.Close()
				}
			})
		}},
		{name: "slowloris: 300 connections sending headers a byte at a time", run: func(ctx context.Context, s *scenario) {
			loopClients(ctx, 300, func() { slowloris(ctx, s.victim.Addr()) })
		}},
		{name: "peer mines a block squatting a pending message's id", peer: true, run: func(ctx context.Context, s *scenario) {
			id := s.victim.Add("a pending message of the victim's")
			squat := s.builder.Fork(uint64(len(lines) - 1))
			nb := squat.Next()
			nb.Data = []chain.Message{{ID: id, Text: "the attacker's words"}}
			if err := squat.Append(nb); err == nil {
				s.fake.SetChain(squat.Lines())
			}
		}},
		{name: "peer claims our height with a made-up tip, serves empty pages", peer: true, run: func(ctx context.Context, s *scenario) {
			s.fake.Claim(uint64(len(lines)-1), strings.Repeat("ab", 32))
			s.fake.EmptyPages(true)
		}},
		{name: "peer claims 1,000,000 blocks, answers in 4.5 s, bisects us over a fake fork", peer: true, run: func(ctx context.Context, s *scenario) {
			fork := s.builder.Fork(uint64(len(lines) - 200))
			_ = fork.AddN(250, 1)
			s.fake.SetChain(fork.Lines())
			s.fake.Claim(1_000_000, fork.Tip().Hash.String())
			s.fake.SetDelay(4500 * time.Millisecond)
		}},
		{name: "peer serves a valid fork beyond the reorg limit (6 MB, limit 4 MiB)", peer: true, gossip: []string{"--max-reorg-bytes", "4194304"}, run: func(ctx context.Context, s *scenario) {
			fork := s.builder.Fork(uint64(len(lines) - 3))
			text := strings.Repeat("r", 4000)
			for i := 0; i < 15 && ctx.Err() == nil; i++ {
				msgs := make([]string, 100)
				for j := range msgs {
					msgs[j] = fmt.Sprintf("%d.%d %s", i, j, text)
				}
				if _, err := fork.Add(msgs...); err != nil {
					return
				}
			}
			s.fake.SetChain(fork.Lines())
		}},
		{name: "peer floods /data: 3,000 messages of 4 KB per pull", peer: true, run: func(ctx context.Context, s *scenario) {
			text := strings.Repeat("f", 4000)
			round := 0
			var mu sync.Mutex
			s.fake.SetData(func() []store.PendingEntry {
				mu.Lock()
				round++
				r := round
				mu.Unlock()
				es := make([]store.PendingEntry, 3000)
				for i := range es {
					m := fmt.Sprintf("%d.%d %s", r, i, text)
					es[i] = store.PendingEntry{ID: chain.NewMessageID(m), Message: m, Received: 1}
				}
				return es
			})
		}},
		{name: "peer relays 10,000 junk addresses", peer: true, run: func(ctx context.Context, s *scenario) {
			var junk []string
			for i := 0; i < 10_000; i++ {
				junk = append(junk, fmt.Sprintf("10.%d.%d.%d:%d", i>>16&255, i>>8&255, i&255, 1000+i%50000))
			}
			s.fake.SetNeighbours(junk)
		}},
		{name: "peer sends 200 announcements/s of tips it does not have", peer: true, run: func(ctx context.Context, s *scenario) {
			for i := 0; ctx.Err() == nil; i++ {
				_, _ = s.fake.Announce(s.victim.URL(), s.fake.Addr, uint64(1_000_000+i), chain.Hash{byte(i), byte(i >> 8), 1}, nil)
				time.Sleep(5 * time.Millisecond)
			}
		}},
	}
}

// loopClients keeps n copies of client running until ctx ends.
func loopClients(ctx context.Context, n int, client func()) {
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				client()
				select {
				case <-ctx.Done():
				case <-time.After(50 * time.Millisecond):
				}
			}
		}()
	}
	wg.Wait()
}

// slowRead sends request from the attacker's address on a connection
// with a 4 KiB receive buffer and reads a byte a second until the server
// closes it or ctx ends.
func slowRead(ctx context.Context, addr, request string) {
	conn, err := nodetest.SlowConn(ctx, addr, request, attackerIP)
	if err != nil {
		return
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	buf := make([]byte, 1)
	for ctx.Err() == nil {
		if _, err := conn.Read(buf); err != nil {
			return
		}
		time.Sleep(time.Second)
	}
}

// slowloris sends a request's headers a byte every 500 ms.
func slowloris(ctx context.Context, addr string) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: attackerIP}}
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return
	}
	defer conn.Close()
	_, _ = io.WriteString(conn, "GET /health HTTP/1.1\r\nHost: x\r\n")
	for ctx.Err() == nil {
		if _, err := conn.Write([]byte("X")); err != nil {
			return
		}
		select {
		case <-ctx.Done():
		case <-time.After(500 * time.Millisecond):
		}
	}
}
