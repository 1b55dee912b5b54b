package crashtest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// netlab is three hosts in their own network namespaces on one bridge (in a
// fourth namespace), with a link from the test's own namespace so that it
// can talk to them.
type netlab struct {
	t      *testing.T
	prefix string
	subnet string // e.g. 10.77.12
	hosts  []string
	bridge string
}

func sh(args ...string) error {
	out, err := exec.Command(args[0], args[1:]...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s: %v: %s", strings.Join(args, " "), err, out)
	}
	return nil
}

func newNetlab(t *testing.T, count int) *netlab {
	if os.Geteuid() != 0 {
		proctest.SkipMissing(t, "network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		proctest.SkipMissing(t, "no ip command (apt-get install iproute2)")
	}
	id := os.Getpid() % 200
	lab := &netlab{t: t, prefix: fmt.Sprintf("bc%d", os.Getpid()%100000), subnet: fmt.Sprintf("10.77.%d", id+10)}
	lab.bridge = lab.prefix + "br"
	t.Cleanup(lab.close)
	try := func(args ...string) {
		if err := sh(args...); err != nil {
			proctest.SkipMissing(t, "cannot build the network namespaces here (%v)", err)
		}
	}
	try("ip", "netns", "add", lab.bridge)
	try("ip", "-n", lab.bridge, "link", "add", "br0", "type", "bridge")
	try("ip", "-n", lab.bridge, "link", "set", "br0", "up")
	for i := 1; i <= count; i++ {
		ns := fmt.Sprintf("%sn%d", lab.prefix, i)
		lab.hosts = append(lab.hosts, ns)
		try("ip", "netns", "add", ns)
		host, peer := fmt.Sprintf("%sh%d", lab.prefix, i), fmt.Sprintf("%sp%d", lab.prefix, i)
		try("ip", "link", "add", host, "type", "veth", "peer", "name", peer)
		try("ip", "link", "set", host, "netns", ns)
		try("ip", "link", "set", peer, "netns", lab.bridge)
		try("ip", "-n", ns, "addr", "add", lab.ip(i)+"/24", "dev", host)
		try("ip", "-n", ns, "link", "set", host, "up")
		try("ip", "-n", ns, "link", "set", "lo", "up")
		try("ip", "-n", lab.bridge, "link", "set", peer, "master", "br0")
		try("ip", "-n", lab.bridge, "link", "set", peer, "up")
	}
	// The test's own link to the bridge.
	root, peer := lab.prefix+"r", lab.prefix+"q"
	try("ip", "link", "add", root, "type", "veth", "peer", "name", peer)
	try("ip", "link", "set", peer, "netns", lab.bridge)
	try("ip", "addr", "add", lab.subnet+".254/24", "dev", root)
	try("ip", "link", "set", root, "up")
	try("ip", "-n", lab.bridge, "link", "set", peer, "master", "br0")
	try("ip", "-n", lab.bridge, "link", "set", peer, "up")
	return lab
}

func (l *netlab) ip(i int) string { return fmt.Sprintf("%s.%d", l.subnet, i) }

// cut and heal take host i's link to the bridge down and up.
func (l *netlab) cut(i int, up bool) {
	state := "down"
	if up {
		state = "up"
	}
	if err := sh("ip", "-n", l.bridge, "link", "set", fmt.Sprintf("%sp%d", l.prefix, i), state); err != nil {
		l.t.Fatal(err)
	}
}

func (l *netlab) close() {
	_ = sh("ip", "link", "del", l.prefix+"r")
	for _, ns := range append(l.hosts, l.bridge) {
		_ = sh("ip", "netns", "del", ns)
	}
}

// Three nodes in their own network namespaces; the link to one is cut while
// all mine, then restored: they converge on the chain with most work and no
// acknowledged message is lost or mined twice.
func TestPartitionHeals(t *testing.T) {
	lab := newNetlab(t, 3)
	c := nodetest.New(t, "bc-pow-crashy", "bc-pow-stuck")
	var nodes []*nodetest.Node
	for i := 1; i <= 3; i++ {
		n := c.Node(fmt.Sprint("n", i), 10)
		n.Host, n.Port, n.Wrap = lab.ip(i), 12345, []string{"ip", "netns", "exec", lab.hosts[i-1]}
		nodes = append(nodes, n)
	}
	addr := func(i int) string { return nodes[i].Addr() }
	for i, n := range nodes {
		n.Start("bc-mine", "--threads", "1", "--max-messages", "3")
		n.Start("bc-serve")
		n.Start("bc-gossip", append([]string{"--peers", addr((i + 1) % 3), "--advertise", addr(i), "--log-level", "debug"}, fastGossip...)...)
	}
	base := func(i int) string { return "http://" + addr(i) }
	for i := range nodes {
		proctest.Eventually(t, 20*time.Second, "bc-serve in its namespace", func() bool {
			r, err := http.Get(base(i) + "/health")
			if err == nil {
				r.Body.Close()
			}
			return err == nil
		})
	}
	var mu sync.Mutex
	var acked []string
	add := func(i int, msg string) {
		id, code := addAt(base(i), msg)
		if code == 200 {
			mu.Lock()
			acked = append(acked, id)
			mu.Unlock()
		}
	}
	addInside := func(i int, msg string) {
		// The cut host is unreachable from here: add from inside its
		// namespace, as a local client would.
		out, err := exec.Command("ip", "netns", "exec", lab.hosts[i], c.Bin.Path("bc-add"), "--node", addr(i), msg).Output()
		if err == nil {
			mu.Lock()
			acked = append(acked, strings.TrimSpace(string(out)))
			mu.Unlock()
		}
	}
	for k := 0; k < 5; k++ {
		for i := range nodes {
			add(i, fmt.Sprintf("before the cut, node %d, %d", i+1, k))
		}
	}
	time.Sleep(2 * time.Second)
	lab.cut(3, false)
	cutAt := time.Now()
	for k := 0; time.Since(cutAt) < 6*time.Second; k++ {
		add(0, fmt.Sprint("majority side ", k))
		add(1, fmt.Sprint("majority side too ", k))
		addInside(2, fmt.Sprint("cut-off node ", k))
		time.Sleep(150 * time.Millisecond)
	}
	// The partition really happened: node 3's chain went its own way.
	h3, h1 := nodes[2].DiskTip().Index, nodes[0].DiskTip().Index
	if nodes[2].DiskTip().Hash == nodes[0].DiskTip().Hash {
		t.Fatal("the cut node kept the others' chain: the partition did not happen")
	}
	most := max(h1, nodes[1].DiskTip().Index, h3)
	lab.cut(3, true)
	deadline := time.Now().Add(60 * time.Second)
	for {
		mu.Lock()
		missing := notMined(t, nodes[0].Dir(), acked)
		mu.Unlock()
		if nodes[0].DiskTip().Hash == nodes[1].DiskTip().Hash && nodes[1].DiskTip().Hash == nodes[2].DiskTip().Hash && len(missing) == 0 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after 60 s: heights %d %d %d, tips %.12s %.12s %.12s, %d acknowledged messages not mined at node 1 (e.g. %v)",
				nodes[0].DiskTip().Index, nodes[1].DiskTip().Index, nodes[2].DiskTip().Index, nodes[0].DiskTip().Hash, nodes[1].DiskTip().Hash, nodes[2].DiskTip().Hash, len(missing), first(missing))
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := nodes[0].DiskTip().Index; got < most {
		t.Fatalf("converged on height %d, below the most work seen (%d)", got, most)
	}
	for _, n := range nodes {
		counts := idCounts(t, n.Dir())
		for _, id := range acked {
			if counts[id] != 1 {
				t.Fatalf("%s: message %s in %d blocks", n.Name, id, counts[id])
			}
		}
	}
	t.Logf("partition: node 3 at height %d, the others at %d when healed; converged at %d with all %d acknowledged messages", h3, h1, nodes[0].DiskTip().Index, len(acked))
}

func addAt(base, msg string) (string, int) {
	r, err := http.Post(base+"/add", "application/json", strings.NewReader(fmt.Sprintf(`{"message":%q}`, msg)))
	if err != nil {
		return "", 0
	}
	defer r.Body.Close()
	var res struct{ ID string }
	_ = json.NewDecoder(r.Body).Decode(&res)
	return res.ID, r.StatusCode
}
