package peer

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/node"
)

// /health tells a bc node, degraded or not, from what is not one.
func TestHealthNamesWhatIsNotABCNode(t *testing.T) {
	answers := map[string]struct {
		code int
		body string
	}{
		"/seed":     {404, `{"message": "'health' is not a valid endpoint!"}`},
		"/web":      {200, `<html>hello</html>`},
		"/other":    {200, `{"status":"ok"}`},
		"/starting": {503, `{"status":"starting","reason":"no chain"}`},
		"/degraded": {503, `{"status":"degraded","reason":"no neighbour is reachable","height":3,"tip":"` + strings.Repeat("a", 64) + `","genesis":"` + strings.Repeat("b", 64) + `"}`},
		"/broken":   {500, `oops`},
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		// Each "node" is a path prefix: /seed/health, /web/health, ...
		a := answers[strings.TrimSuffix(r.URL.Path, "/health")]
		w.WriteHeader(a.code)
		w.Write([]byte(a.body))
	}))
	defer srv.Close()
	c := NewClient(2 * time.Second)
	defer c.Close()
	// One server plays every kind of answer, chosen by a path prefix.
	ask := func(prefix string) (remoteHealth, error) {
		var h remoteHealth
		err := c.doAccepting(context.Background(), node.Addr(strings.TrimPrefix(srv.URL, "http://")), ScopeLoopback,
			http.MethodGet, prefix+"/health", nil, maxHealthBytes, &h, http.StatusServiceUnavailable)
		return classifyHealth(node.Addr(srv.URL), h, err)
	}
	for _, prefix := range []string{"/seed", "/web", "/other"} {
		if _, err := ask(prefix); !errors.Is(err, errNotBC) || failureKind(err) != kindNotBC {
			t.Errorf("%s: %v, want not a bc node", prefix, err)
		}
	}
	if _, err := ask("/starting"); !errors.Is(err, errNoChain) {
		t.Errorf("starting: %v", err)
	}
	if h, err := ask("/degraded"); err != nil || h.Height != 3 {
		t.Errorf("a degraded bc node is still a node to sync with: %v %+v", err, h)
	}
	if _, err := ask("/broken"); err == nil || errors.Is(err, errNotBC) || failureKind(err) != kindFailing {
		t.Errorf("a 500 is a failing node, not another service: %v", err)
	}
	// Nothing listening: unreachable.
	l, _ := net.Listen("tcp", "127.0.0.1:0")
	dead := node.Addr(l.Addr().String())
	l.Close()
	if _, err := c.health(context.Background(), dead, ScopeLoopback); failureKind(err) != kindUnreachable {
		t.Errorf("dead address: %v is %q", err, failureKind(err))
	}
}

// A failing neighbour is warned about once it failed twice in a row, then
// not again for warnEvery unless the failure changes kind; its return is
// logged once; an address that is neither a neighbour nor given by the
// operator is never warned about.
func TestFailureWarningsAreRateLimited(t *testing.T) {
	var logs bytes.Buffer
	g := &Gossiper{log: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo})), peers: map[node.Addr]*peerState{}}
	g.cfg.Defaults()
	g.cfg.MaxFailures = 1000
	const a, stranger node.Addr = "127.0.0.1:1", "127.0.0.1:2"
	g.book.Neighbours = []node.Addr{a}
	g.book.Entry(a)
	refused := &PeerError{Addr: a, Op: "/health", Err: &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}
	warnings := func() int { return strings.Count(logs.String(), "level=WARN") }

	g.failed(a, refused)
	if warnings() != 0 {
		t.Fatalf("warned after one failure:\n%s", logs.String())
	}
	g.failed(a, refused)
	if warnings() != 1 || !strings.Contains(logs.String(), `msg="a peer is unreachable" peer=127.0.0.1:1 failures=2`) {
		t.Fatalf("no warning after two failures:\n%s", logs.String())
	}
	for range 10 {
		g.failed(a, refused)
	}
	if warnings() != 1 {
		t.Fatalf("warned again within %v:\n%s", warnEvery, logs.String())
	}
	if r, u := g.reachabilityLocked(); r != 0 || !strings.Contains(u, "127.0.0.1:1 (") {
		t.Fatalf("reachability: %d %q", r, u)
	}
	g.failed(a, &PeerError{Addr: a, Op: "/health", Err: errNotBC})
	if warnings() != 2 || !strings.Contains(logs.String(), "a peer is not a bc node") {
		t.Fatalf("a new kind of failure is not warned about:\n%s", logs.String())
	}
	g.peers[a].warnedAt = time.Now().Add(-warnEvery) // time passes
	g.failed(a, &PeerError{Addr: a, Op: "/health", Err: errNotBC})
	if warnings() != 3 {
		t.Fatalf("no warning after %v:\n%s", warnEvery, logs.String())
	}
	g.ok(a)
	if !strings.Contains(logs.String(), `msg="a peer answers again" peer=127.0.0.1:1`) {
		t.Fatalf("recovery not logged:\n%s", logs.String())
	}
	if r, u := g.reachabilityLocked(); r != 1 || u != "" {
		t.Fatalf("reachability after recovery: %d %q", r, u)
	}
	for range 5 {
		g.failed(stranger, refused)
	}
	if warnings() != 3 {
		t.Fatalf("warned about an address that is not a neighbour:\n%s", logs.String())
	}
}

// What a run knows of peers that left the book is forgotten once it holds
// nothing: the map cannot grow with every address that passes through.
func TestIdlePeersForgotten(t *testing.T) {
	g := &Gossiper{peers: map[node.Addr]*peerState{}}
	now := time.Now()
	g.book.Entry("10.0.0.1:1")
	g.peerLocked("10.0.0.1:1")                                                                   // in the book: kept
	g.peerLocked("10.0.0.2:1")                                                                   // gone, nothing held: forgotten
	g.peerLocked("10.0.0.3:1").score, g.peers["10.0.0.3:1"].scoredAt = 50, now                   // a live score: kept
	g.peerLocked("10.0.0.4:1").score, g.peers["10.0.0.4:1"].scoredAt = 50, now.Add(-3*time.Hour) // faded: forgotten
	g.peerLocked("10.0.0.5:1").refused["tip"] = now.Add(time.Minute)                             // a refusal in force: kept
	g.peerLocked("10.0.0.6:1").syncing = true                                                    // a sync in flight: kept
	g.forgetIdlePeers(now)
	for _, a := range []node.Addr{"10.0.0.1:1", "10.0.0.3:1", "10.0.0.5:1", "10.0.0.6:1"} {
		if g.peers[a] == nil {
			t.Errorf("%s forgotten", a)
		}
	}
	for _, a := range []node.Addr{"10.0.0.2:1", "10.0.0.4:1"} {
		if g.peers[a] != nil {
			t.Errorf("%s kept", a)
		}
	}
}
