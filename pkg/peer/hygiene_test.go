package peer

import (
	"github.com/bc-chain/bc/pkg/node"

	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"testing"
	"time"
)

func TestParseAddr(t *testing.T) {
	good := map[string]node.Addr{
		"localhost":                 "127.0.0.1:12345",
		"localhost:8080":            "127.0.0.1:8080",
		"http://localhost:12346":    "127.0.0.1:12346",
		"http://miner1":             "miner1:12345",
		"Miner1.example.org:99":     "miner1.example.org:99",
		"10.0.0.1":                  "10.0.0.1:12345",
		"[::1]:5":                   "[::1]:5",
		"http://[2001:db8::1]:7000": "[2001:db8::1]:7000",
		" 192.168.1.2:3 ":           "192.168.1.2:3",
	}
	for in, want := range good {
		got, err := node.ParseAddr(in)
		if err != nil || got != want {
			t.Errorf("node.ParseAddr(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "host:0", "host:70000", "host:x", "https://h", "http://h/path", "http://u@h", "bad_host", "-x.org", "a..b"} {
		if got, err := node.ParseAddr(bad); err == nil {
			t.Errorf("node.ParseAddr(%q) = %q, want an error", bad, got)
		}
	}
	list, err := node.ParseList("localhost, 127.0.0.1:12345,,http://b:1")
	if err != nil || fmt.Sprint(list) != "[127.0.0.1:12345 b:1]" {
		t.Fatalf("node.ParseList = %v, %v", list, err)
	}
}

func TestDialPolicy(t *testing.T) {
	cases := []struct {
		trust Scope
		ip    string
		want  bool
	}{
		{ScopePublic, "8.8.8.8", true},
		{ScopePublic, "10.1.2.3", false},            // private, relayed by a public peer
		{ScopePublic, "127.0.0.1", false},           // loopback, relayed by a public peer
		{ScopePrivate, "10.1.2.3", true},            // private, relayed by a private peer
		{ScopePrivate, "127.0.0.1", false},          // loopback needs a loopback relay
		{ScopeLoopback, "127.0.0.1", true},          // ...like this
		{ScopeLoopback, "8.8.8.8", true},            // public is fine for anyone
		{ScopeConfigured, "10.1.2.3", true},         // the operator's choice
		{ScopeConfigured, "169.254.169.254", false}, // never: link-local (cloud metadata)
		{ScopeLoopback, "169.254.169.254", false},
		{ScopeLoopback, "224.0.0.1", false}, // multicast
		{ScopeLoopback, "0.0.0.0", false},   // unspecified
		{ScopeLoopback, "255.255.255.255", false},
		{ScopeLoopback, "fe80::1", false},
		{ScopeLoopback, "::", false},
	}
	for _, c := range cases {
		if got := mayDial(c.trust, net.ParseIP(c.ip)); got != c.want {
			t.Errorf("mayDial(%v, %s) = %v, want %v", c.trust, c.ip, got, c.want)
		}
	}
}

// Learned addresses are capped per peer and per minute, and junk, the node
// itself, removed and unreachable-by-policy addresses are not kept.
func TestLearnLimits(t *testing.T) {
	g := &Gossiper{cfg: Config{Advertise: "127.0.0.1:12345"}}
	g.cfg.Defaults()
	g.book.Removed = []node.Removed{{Addr: "127.0.0.1:7", Until: time.Now().Add(time.Hour).UnixMilli()}}
	var junk []string
	for i := 0; i < 100; i++ {
		junk = append(junk, fmt.Sprintf("127.0.0.1:%d", 20000+i))
	}
	junk = append([]string{"not an address", "127.0.0.1:12345", "127.0.0.1:7", "169.254.169.254:80", "0.0.0.0:1"}, junk...)
	g.learn("127.0.0.1:1", junk) // a loopback relay may give loopback addresses
	if n := len(g.book.Known); n != g.cfg.LearnPerPeer {
		t.Fatalf("learned %d addresses from one answer, cap %d", n, g.cfg.LearnPerPeer)
	}
	for _, k := range g.book.Known {
		switch k.Addr {
		case "127.0.0.1:12345", "127.0.0.1:7", "169.254.169.254:80", "0.0.0.0:1":
			t.Fatalf("kept %s", k.Addr)
		}
	}
	for i := 2; i < 10; i++ {
		var more []string
		for j := 0; j < 16; j++ {
			more = append(more, fmt.Sprintf("127.0.%d.%d:1", i, j+1))
		}
		g.learn(node.Addr(fmt.Sprintf("127.0.0.%d:1", i)), more)
	}
	if n := len(g.book.Known); n > g.cfg.LearnPerMin {
		t.Fatalf("learned %d addresses in a minute, cap %d", n, g.cfg.LearnPerMin)
	}
	// A public relay's private and loopback addresses are refused.
	g2 := &Gossiper{}
	g2.cfg.Defaults()
	g2.learn("8.8.8.8:12345", []string{"10.0.0.1:1", "127.0.0.1:2", "192.168.0.1:3", "1.2.3.4:5"})
	if len(g2.book.Known) != 1 || g2.book.Known[0].Addr != "1.2.3.4:5" {
		t.Fatalf("public relay: kept %v", g2.book.Known)
	}
}

// The client checks the resolved IP at dial time, never follows a
// redirect, and reads answers through a size limit.
func TestClientGuards(t *testing.T) {
	hits := 0
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits++
		switch r.URL.Path {
		case "/redirect":
			http.Redirect(w, r, "http://169.254.169.254/latest/meta-data/", http.StatusFound)
		case "/big":
			w.Write(bytes.Repeat([]byte("x"), maxHealthBytes+10))
		default:
			w.Write([]byte(`{"status":"ok"}`))
		}
	})}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	defer srv.Close()
	a := node.Addr(l.Addr().String())
	c := NewClient(2 * time.Second)
	ctx := context.Background()
	var v map[string]any
	if err := c.get(ctx, a, ScopePublic, "/health", maxHealthBytes, &v); !errors.Is(err, ErrRefusedAddress) {
		t.Fatalf("a public-trust address that resolves to loopback: %v", err)
	}
	if hits != 0 {
		t.Fatal("the refused address was contacted")
	}
	if err := c.get(ctx, a, ScopeLoopback, "/health", maxHealthBytes, &v); err != nil || v["status"] != "ok" {
		t.Fatalf("loopback trust: %v", err)
	}
	var pe *PeerError
	if err := c.get(ctx, a, ScopeLoopback, "/redirect", maxHealthBytes, &v); !errors.As(err, &pe) || pe.Code != http.StatusFound {
		t.Fatalf("redirect: %v", err)
	}
	if err := c.get(ctx, a, ScopeLoopback, "/big", maxHealthBytes, &v); !errors.Is(err, errTooLarge) {
		t.Fatalf("oversized answer: %v", err)
	}
}
