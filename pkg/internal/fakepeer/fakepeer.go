// Package fakepeer is a hostile peer for tests: an HTTP server that speaks
// bc's protocol (/health, /blocks, /data, /neighbours, /announce) and
// serves whatever a test sets, true or not: a chain of its own, a height
// or tip it does not have, empty or slow answers, floods of pending data,
// junk neighbour lists. It counts what it was asked, so that tests can
// bound the work a node spends on it.
package fakepeer

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/store"
)

// Peer is a running fake peer. Its setters may be called while it serves.
type Peer struct {
	Addr string
	// Source, when set, is the local IP its announcements come from (a
	// loopback address other than 127.0.0.1 stands for another host).
	Source net.IP

	mu          sync.Mutex
	genesis     chain.Hash
	lines       [][]byte // the chain it serves, genesis first
	claimHeight *uint64
	claimTip    string
	delay       time.Duration
	emptyPages  bool
	endless     bool
	data        func() []store.PendingEntry
	neighbours  []string
	hits        map[string]int
	bytes       int64
}

// Start serves a fake peer of the chain with genesis on a loopback port
// until the test ends.
func Start(t testing.TB, genesis chain.Hash) *Peer {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &Peer{Addr: l.Addr().String(), genesis: genesis, hits: map[string]int{}}
	srv := &http.Server{Handler: p}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return p
}

// SetChain sets the chain the peer serves (lines, genesis first); its
// /health tells the truth about it unless Claim says otherwise.
func (p *Peer) SetChain(lines [][]byte) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.lines = lines
}

// Claim makes /health report height and tip whatever the peer serves.
func (p *Peer) Claim(height uint64, tip string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.claimHeight, p.claimTip = &height, tip
}

// SetDelay delays every answer by d.
func (p *Peer) SetDelay(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.delay = d
}

// Endless makes every answer start as JSON and never end.
func (p *Peer) Endless(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.endless = on
}

// EmptyPages makes /blocks answer no blocks at all.
func (p *Peer) EmptyPages(on bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.emptyPages = on
}

// SetData sets what /data serves: f is called for every request.
func (p *Peer) SetData(f func() []store.PendingEntry) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.data = f
}

// SetNeighbours sets the /neighbours answer.
func (p *Peer) SetNeighbours(list []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.neighbours = list
}

// Hits returns how often path was asked for.
func (p *Peer) Hits(path string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hits[path]
}

// BytesServed returns the bytes of every answer so far.
func (p *Peer) BytesServed() int64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.bytes
}

func (p *Peer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	p.hits[r.URL.Path]++
	delay, endless := p.delay, p.endless
	p.mu.Unlock()
	time.Sleep(delay)
	if endless {
		serveEndless(w, r)
		return
	}
	var body []byte
	switch r.URL.Path {
	case "/health":
		body = p.health()
	case "/blocks":
		body = p.blocks(r)
	case "/data":
		body = p.pending()
	case "/neighbours":
		p.mu.Lock()
		body, _ = json.Marshal(map[string]any{"neighbours": p.neighbours, "length": len(p.neighbours)})
		p.mu.Unlock()
	case "/announce":
		w.WriteHeader(http.StatusAccepted)
		return
	default:
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	n, _ := w.Write(body)
	p.mu.Lock()
	p.bytes += int64(n)
	p.mu.Unlock()
}

func (p *Peer) health() []byte {
	p.mu.Lock()
	defer p.mu.Unlock()
	height, tip := uint64(0), ""
	if n := len(p.lines); n > 0 {
		var s chain.Summary
		var parser chain.Parser
		if parser.ParseSummary(p.lines[n-1], &s) == nil {
			height, tip = s.Index, s.Hash.String()
		}
	}
	if p.claimHeight != nil {
		height, tip = *p.claimHeight, p.claimTip
	}
	return fmt.Appendf(nil, `{"status":"ok","height":%d,"tip":%q,"genesis":%q,"node_id":"fakepeer"}`, height, tip, p.genesis)
}

// blocks answers /blocks?from=H&limit=L and /blocks?before=H&limit=L from
// the chain set, as bc-serve would.
func (p *Peer) blocks(r *http.Request) []byte {
	q := r.URL.Query()
	limit, _ := strconv.Atoi(q.Get("limit"))
	if limit <= 0 {
		limit = 100
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	n := uint64(len(p.lines))
	var first, last uint64 // [first, last)
	if q.Has("before") {
		before, _ := strconv.ParseUint(q.Get("before"), 10, 64)
		last = min(before, n)
		first = last - min(last, uint64(limit))
	} else {
		from, _ := strconv.ParseUint(q.Get("from"), 10, 64)
		first = min(from+1, n)
		last = min(first+uint64(limit), n)
	}
	if p.emptyPages {
		first = last
	}
	var buf bytes.Buffer
	buf.WriteString(`{"blocks":[`)
	size := 0
	for i := first; i < last; i++ {
		if size > 4<<20 {
			last = i
			break
		}
		if i > first {
			buf.WriteByte(',')
		}
		buf.Write(p.lines[i])
		size += len(p.lines[i])
	}
	tip := uint64(0)
	if n > 0 {
		tip = n - 1
	}
	fmt.Fprintf(&buf, `],"tip":%d,"genesis":%q,"more":%v}`, tip, p.genesis, last < n && !p.emptyPages)
	return buf.Bytes()
}

func (p *Peer) pending() []byte {
	p.mu.Lock()
	f := p.data
	p.mu.Unlock()
	var es []store.PendingEntry
	if f != nil {
		es = f()
	}
	body, _ := json.Marshal(map[string]any{"data": es, "length": len(es)})
	return body
}

// Announce POSTs an announcement of the peer's tip (and its newest blocks)
// to a node's bc-serve at url, as from, and returns the status code.
func (p *Peer) Announce(url, from string, height uint64, tip chain.Hash, blocks [][]byte) (int, error) {
	var bs []string
	for _, b := range blocks {
		bs = append(bs, string(b))
	}
	body, _ := json.Marshal(map[string]any{"from": from, "genesis": p.genesis, "height": height, "hash": tip, "blocks": bs})
	r, err := sourceClient(p.Source).Post(url+"/announce", "application/json", bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	r.Body.Close()
	return r.StatusCode, nil
}

// sourceClient returns an HTTP client whose connections come from ip (the
// default client when ip is nil).
func sourceClient(ip net.IP) *http.Client {
	if ip == nil {
		return http.DefaultClient
	}
	return SourceClient(ip)
}

// SourceClient returns an HTTP client whose connections come from ip: on
// loopback, 127.0.0.2 stands for another host than 127.0.0.1.
func SourceClient(ip net.IP) *http.Client {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: ip}}
	return &http.Client{Transport: &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 16}}
}

// serveEndless starts a plausible answer and never ends it.
func serveEndless(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = fmt.Fprintf(w, `{"blocks":["`)
	chunk := bytes.Repeat([]byte("z"), 32<<10)
	for r.Context().Err() == nil {
		if _, err := w.Write(chunk); err != nil {
			return
		}
	}
}
