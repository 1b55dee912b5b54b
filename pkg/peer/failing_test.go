package peer_test

import (
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	"github.com/bc-chain/bc/pkg/internal/seednode"
)

// A peer given with --peers that is dead, and one that is a node of the
// seed: each is named once in a WARN line for what it is, neither is
// dropped, and /health says degraded with the reason while no neighbour
// answers.
func TestFailingPeersAreNamed(t *testing.T) {
	c := nodetest.New(t)
	n := c.Node("lonely", 8)
	n.Create()
	n.Start("bc-serve")
	seed := seednode.Start(t)
	dead := net.JoinHostPort("127.0.0.1", fmt.Sprint(proctest.FreePort(t)))
	g := n.StartGossip([]string{dead, seed.Addr()})

	warned := func(kind, addr string) int {
		count := 0
		for _, line := range strings.Split(g.Output(), "\n") {
			if strings.Contains(line, "level=WARN") && strings.Contains(line, `msg="`+kind+`"`) && strings.Contains(line, "peer="+addr) {
				count++
			}
		}
		return count
	}
	proctest.Eventually(t, 20*time.Second, "a warning for each failing peer", func() bool {
		return warned("a peer is unreachable", dead) == 1 && warned("a peer is not a bc node", seed.Addr()) == 1
	})
	var h map[string]any
	defer func() {
		if t.Failed() {
			t.Logf("last /health: %v", h)
		}
	}()
	proctest.Eventually(t, 10*time.Second, "/health to say degraded", func() bool {
		h = n.Health()
		reason, _ := h["reason"].(string)
		return h["status"] == "degraded" && strings.Contains(reason, "no neighbour is reachable") &&
			strings.Contains(reason, dead) && strings.Contains(reason, seed.Addr()+" (/health: not a bc node: it answers /health with 404")
	})
	// More rounds fail (the test intervals are one second): no more lines,
	// and the configured peers stay neighbours.
	time.Sleep(4 * time.Second)
	if warned("a peer is unreachable", dead) != 1 || warned("a peer is not a bc node", seed.Addr()) != 1 {
		t.Fatalf("warnings are not rate-limited:\n%s", g.Output())
	}
	if strings.Contains(g.Output(), "dropped") {
		t.Fatalf("a configured peer was dropped:\n%s", g.Output())
	}
}
