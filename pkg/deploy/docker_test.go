package deploy_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// The Docker part of the README, run for real when an engine is there:
// make docker builds the image without a registry, and
// contrib/docker/docker-compose.yml starts the seed's three-node network
// (twelve containers). The test drives it as an operator would, from the
// host's ports and the docker command.
func TestDockerNetwork(t *testing.T) {
	d := startCompose(t)
	// The steps share the network, in order; the first that fails ends
	// the test (the next ones would start from a broken state).
	for _, step := range []struct {
		name  string
		check func(*testing.T)
	}{
		{"layout", d.checkImage},
		{"propagation", d.checkPropagation},
		{"discovery", d.checkDiscovery},
		{"kills", d.checkKills},
		{"partition", d.checkPartition},
		{"rolling-restart", d.checkRollingRestart},
		{"down-and-up", d.checkDownAndUp},
	} {
		ok := t.Run(step.name, func(st *testing.T) {
			d.t = st
			defer func() { d.t = t }()
			step.check(st)
		})
		if !ok {
			d.dumpLogs()
			t.FailNow()
		}
	}
}

// dumpLogs puts the containers' last lines into the test's log.
func (d *dockerNet) dumpLogs() {
	out, _ := d.run("logs", "--no-color", "--tail", "15")
	d.t.Logf("container logs:\n%s", out)
}

// dockerNet is a compose project of the test's own: its image, host ports
// and project name, removed at the end.
type dockerNet struct {
	t       *testing.T
	repo    string
	compose []string // "docker compose" or "docker-compose"
	project string
	image   string
	files   []string
	ports   [3]int
	// acked are the messages every node answered 200 for: each must end
	// in the chain exactly once.
	acked []string
}

func startCompose(t *testing.T) *dockerNet {
	compose := composeCommand(t)
	d := &dockerNet{t: t, repo: proctest.ModuleRoot(t), compose: compose,
		project: fmt.Sprintf("bctest%d", os.Getpid()), image: fmt.Sprintf("bc-test:%d", os.Getpid())}
	for i := range d.ports {
		d.ports[i] = proctest.FreePort(t)
	}
	start := time.Now()
	out, err := exec.Command("make", "-C", d.repo, "docker", "IMAGE="+d.image).CombinedOutput()
	if err != nil {
		t.Fatalf("make docker: %v\n%s", err, out)
	}
	t.Logf("make docker: %.1f s; %s", time.Since(start).Seconds(), lastLine(string(out)))
	// The test's settings on top of the file users run: a difficulty at
	// which mining takes milliseconds (so that the figures are the
	// network's), fast gossip and health checks.
	override := filepath.Join(t.TempDir(), "test.yml")
	var o strings.Builder
	o.WriteString("services:\n")
	for n := 1; n <= 3; n++ {
		fmt.Fprintf(&o, "  node%d-mine: {environment: {BC_DIFFICULTY: \"20\"}}\n", n)
		fmt.Fprintf(&o, "  node%d-gossip: {environment: {BC_GOSSIP_INTERVAL: 1s, BC_SYNC_INTERVAL: 1s, BC_DATA_INTERVAL: 1s, BC_PEER_TIMEOUT: 2s}}\n", n)
		fmt.Fprintf(&o, "  node%d-serve: {healthcheck: {interval: 1s}}\n", n)
	}
	if err := os.WriteFile(override, []byte(o.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	d.files = []string{filepath.Join(d.repo, "contrib/docker/docker-compose.yml"), override}
	// Registered after the temporary directory of the override file, so
	// that it runs before that directory is removed.
	t.Cleanup(func() {
		if out, err := d.run("down", "-v", "--remove-orphans", "-t", "5"); err != nil {
			t.Logf("compose down: %v\n%s", err, out)
		}
		_ = exec.Command("docker", "rmi", "-f", d.image).Run()
	})
	start = time.Now()
	d.mustRun("up", "-d")
	d.waitHealthy(60 * time.Second)
	t.Logf("compose up to three healthy nodes: %.1f s", time.Since(start).Seconds())
	return d
}

// composeCommand finds Compose (the plugin or the standalone tool), or
// skips the test saying what is missing.
func composeCommand(t *testing.T) []string {
	if _, err := exec.LookPath("docker"); err != nil {
		proctest.SkipMissing(t, "no docker command: the Docker tests need a Docker Engine with Compose")
	}
	if out, err := exec.Command("docker", "info", "--format", "{{.ServerVersion}}").CombinedOutput(); err != nil {
		proctest.SkipMissing(t, "no Docker Engine answers (%s): the Docker tests need one", strings.TrimSpace(string(out)))
	}
	if exec.Command("docker", "compose", "version").Run() == nil {
		return []string{"docker", "compose"}
	}
	if _, err := exec.LookPath("docker-compose"); err == nil {
		return []string{"docker-compose"}
	}
	proctest.SkipMissing(t, "no Docker Compose (docker compose or docker-compose): apt-get install docker-compose")
	return nil
}

func (d *dockerNet) run(args ...string) (string, error) {
	full := append(slices.Clone(d.compose[1:]), "-p", d.project)
	for _, f := range d.files {
		full = append(full, "-f", f)
	}
	cmd := exec.Command(d.compose[0], append(full, args...)...)
	cmd.Env = append(os.Environ(), "BC_IMAGE="+d.image, "BC_PORT1="+strconv.Itoa(d.ports[0]),
		"BC_PORT2="+strconv.Itoa(d.ports[1]), "BC_PORT3="+strconv.Itoa(d.ports[2]))
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func (d *dockerNet) mustRun(args ...string) string {
	d.t.Helper()
	out, err := d.run(args...)
	if err != nil {
		d.t.Fatalf("compose %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// docker runs the docker command.
func (d *dockerNet) docker(args ...string) string {
	d.t.Helper()
	out, err := exec.Command("docker", args...).CombinedOutput()
	if err != nil {
		d.t.Fatalf("docker %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// container is the name of a service's container.
func (d *dockerNet) container(service string) string {
	d.t.Helper()
	id := strings.TrimSpace(d.mustRun("ps", "-q", service))
	if id == "" {
		d.t.Fatalf("no container for %s", service)
	}
	return d.docker("inspect", "--format", "{{.Name}}", id)[1:]
}

// node's daemons, as compose names them.
func node(n int) []string {
	var s []string
	for _, p := range []string{"mine", "serve", "gossip", "backup"} {
		s = append(s, fmt.Sprintf("node%d-%s", n, p))
	}
	return s
}

func (d *dockerNet) url(n int) string { return "http://127.0.0.1:" + strconv.Itoa(d.ports[n-1]) }

func (d *dockerNet) waitHealthy(within time.Duration) {
	d.t.Helper()
	proctest.Eventually(d.t, within, "three healthy nodes", func() bool {
		for n := 1; n <= 3; n++ {
			id := strings.TrimSpace(d.mustRun("ps", "-q", fmt.Sprintf("node%d-serve", n)))
			out, err := exec.Command("docker", "inspect", "--format", "{{.State.Health.Status}}", id).Output()
			if err != nil || strings.TrimSpace(string(out)) != "healthy" {
				return false
			}
		}
		return true
	})
}

// getJSON asks node n (from the host) and decodes the answer.
func (d *dockerNet) getJSON(n int, path string, v any) error {
	c := http.Client{Timeout: 3 * time.Second}
	resp, err := c.Get(d.url(n) + path)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		return fmt.Errorf("%s: %s", path, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}

// add stores a message on node n through its host port.
func (d *dockerNet) add(n int, msg string) string {
	d.t.Helper()
	resp, err := http.Post(d.url(n)+"/add", "application/json", strings.NewReader(fmt.Sprintf(`{"message":%q}`, msg)))
	if err != nil {
		d.t.Fatalf("add to node %d: %v", n, err)
	}
	defer resp.Body.Close()
	var a struct{ ID string }
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&a) != nil {
		d.t.Fatalf("add to node %d: %s", n, resp.Status)
	}
	d.acked = append(d.acked, a.ID)
	return a.ID
}

// addInside stores a message on node n from inside its bc-serve container
// (the host's port does not reach a node cut off from the network).
func (d *dockerNet) addInside(n int, msg string) string {
	d.t.Helper()
	id := d.docker("exec", d.container(fmt.Sprintf("node%d-serve", n)), "bc-add", "--node", "127.0.0.1:12345", msg)
	d.acked = append(d.acked, id)
	return id
}

func (d *dockerNet) mined(n int, id string) bool {
	var st struct{ Status string }
	return d.getJSON(n, "/data/"+id, &st) == nil && st.Status == "mined"
}

// minedInside asks node n from inside its container.
func (d *dockerNet) minedInside(n int, id string) bool {
	out, err := exec.Command("docker", "exec", d.container(fmt.Sprintf("node%d-serve", n)), "bc-get", "--node", "127.0.0.1:12345", "--json", "status", id).Output()
	return err == nil && bytes.Contains(out, []byte(`"status":"mined"`))
}

func (d *dockerNet) tip(n int) string {
	var h struct{ Tip string }
	if d.getJSON(n, "/health", &h) != nil {
		return ""
	}
	return h.Tip
}

// converged waits for the three nodes to agree on the tip, then checks
// that every acknowledged message is in that chain exactly once.
func (d *dockerNet) converged(within time.Duration) {
	d.t.Helper()
	proctest.Eventually(d.t, within, "the three nodes to agree on one tip holding every message", func() bool {
		t1 := d.tip(1)
		if t1 == "" || t1 != d.tip(2) || t1 != d.tip(3) {
			return false
		}
		for _, id := range d.acked {
			if !d.mined(1, id) {
				return false
			}
		}
		return true
	})
	var doc struct {
		Chain []struct {
			Data []struct{ ID string } `json:"data"`
		} `json:"chain"`
	}
	if err := d.getJSON(1, "/chain", &doc); err != nil {
		d.t.Fatal(err)
	}
	count := map[string]int{}
	for _, b := range doc.Chain {
		for _, m := range b.Data {
			count[m.ID]++
		}
	}
	for _, id := range d.acked {
		if count[id] != 1 {
			d.t.Fatalf("message %s is %d times in the chain", id, count[id])
		}
	}
}

// The image from make docker and the multi-stage Dockerfile have one
// layout: the final stages match line for line but for where the files
// come from; the image runs as the unprivileged user, with no shell.
func (d *dockerNet) checkImage(t *testing.T) {
	final := func(name string) []string {
		b, err := os.ReadFile(filepath.Join(d.repo, "contrib/docker", name))
		if err != nil {
			t.Fatal(err)
		}
		_, stage, ok := strings.Cut(string(b), "FROM scratch\n")
		if !ok {
			t.Fatalf("%s has no FROM scratch stage", name)
		}
		var lines []string
		for _, l := range strings.Split(stage, "\n") {
			l = strings.ReplaceAll(strings.ReplaceAll(l, "--from=build ", ""), "/context/", "")
			if l != "" && !strings.HasPrefix(l, "#") {
				lines = append(lines, l)
			}
		}
		return lines
	}
	if a, b := final("Dockerfile"), final("Dockerfile.local"); !slices.Equal(a, b) {
		t.Fatalf("the two Dockerfiles build different images:\n%s\n---\n%s", strings.Join(a, "\n"), strings.Join(b, "\n"))
	}
	cfg := d.docker("image", "inspect", "--format", "{{.Config.User}} {{.Config.Entrypoint}} {{.Config.Env}} {{.Size}}", d.image)
	for _, want := range []string{"65532:65532", "[/usr/local/bin/bc-serve]", "BC_DIR=/var/lib/bc"} {
		if !strings.Contains(cfg, want) {
			t.Fatalf("image config %q lacks %q", cfg, want)
		}
	}
	t.Logf("image %s: %s", d.image, cfg)
	if out, err := exec.Command("docker", "run", "--rm", "--entrypoint", "/bin/sh", d.image, "-c", "true").CombinedOutput(); err == nil {
		t.Fatalf("the image has a shell: %s", out)
	}
}

// A message added on node 1 is in all three chains within 2 s.
func (d *dockerNet) checkPropagation(t *testing.T) {
	var took []time.Duration
	for i := range 20 {
		start := time.Now()
		id := d.add(1, fmt.Sprintf("propagation %d", i))
		proctest.Eventually(t, 10*time.Second, "message "+id+" on the three nodes", func() bool {
			return d.mined(1, id) && d.mined(2, id) && d.mined(3, id)
		})
		took = append(took, time.Since(start))
	}
	slices.Sort(took)
	t.Logf("add on node 1 to mined on all three, 20 messages: p50 %v, max %v", took[len(took)/2].Round(time.Millisecond), took[len(took)-1].Round(time.Millisecond))
	if took[len(took)-1] > 2*time.Second {
		t.Fatalf("a message took %v to reach the three chains (want within 2 s)", took[len(took)-1])
	}
}

// Configured as a ring, the nodes find each other by service name: each
// ends up with both others as neighbours (private addresses relayed by
// private peers are taken).
func (d *dockerNet) checkDiscovery(t *testing.T) {
	proctest.Eventually(t, 30*time.Second, "every node to know both others", func() bool {
		for n := 1; n <= 3; n++ {
			var nb struct{ Neighbours []string }
			if d.getJSON(n, "/neighbours", &nb) != nil || len(nb.Neighbours) != 2 {
				return false
			}
		}
		return true
	})
}

// docker kill of a node's bc-mine and of a whole node: the others keep
// mining; each comes back and catches up. A crash (SIGKILL from outside
// Docker) is restarted by the restart policy.
func (d *dockerNet) checkKills(t *testing.T) {
	d.docker("kill", d.container("node1-mine"))
	id := d.add(1, "node 1 has no miner")
	proctest.Eventually(t, 20*time.Second, "node 1's message mined by the others", func() bool { return d.mined(1, id) && d.mined(2, id) })

	whole := node(2)
	names := make([]string, len(whole))
	for i, s := range whole {
		names[i] = d.container(s)
	}
	d.docker(append([]string{"kill"}, names...)...)
	for i := range 3 {
		id = d.add(3, fmt.Sprintf("node 2 is down %d", i))
	}
	proctest.Eventually(t, 20*time.Second, "node 3's messages mined without node 2", func() bool { return d.mined(3, id) && d.mined(1, id) })
	d.docker(append([]string{"start", d.container("node1-mine")}, names...)...)
	d.waitHealthy(60 * time.Second)
	d.converged(60 * time.Second)

	// The restart policy: a daemon that dies is started again.
	mine := d.container("node3-mine")
	pid, _ := strconv.Atoi(d.docker("inspect", "--format", "{{.State.Pid}}", mine))
	if pid <= 0 {
		t.Fatalf("no pid for %s", mine)
	}
	if err := syscall.Kill(pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	proctest.Eventually(t, 30*time.Second, "the killed bc-mine to be restarted", func() bool {
		out, err := exec.Command("docker", "inspect", "--format", "{{.RestartCount}} {{.State.Running}}", mine).Output()
		return err == nil && strings.TrimSpace(string(out)) != "0 true" && strings.HasSuffix(strings.TrimSpace(string(out)), "true")
	})
	id = d.add(3, "after a crash")
	proctest.Eventually(t, 20*time.Second, "mining after the crash", func() bool { return d.mined(3, id) })
}

// Node 1 is cut off (docker network disconnect) and both sides mine; once
// it is back, all converge on the most work and every acknowledged message
// is in the final chain exactly once.
func (d *dockerNet) checkPartition(t *testing.T) {
	network := d.project + "_default"
	cut := []string{d.container("node1-serve"), d.container("node1-gossip")}
	for _, c := range cut {
		d.docker("network", "disconnect", network, c)
	}
	var a, b []string
	for i := range 3 {
		a = append(a, d.addInside(1, fmt.Sprintf("side A %d", i)))
		b = append(b, d.add(2, fmt.Sprintf("side B %d", i)))
	}
	proctest.Eventually(t, 30*time.Second, "both sides to mine their messages", func() bool {
		return d.minedInside(1, a[2]) && d.mined(2, b[2]) && d.mined(3, b[2])
	})
	if d.mined(2, a[0]) {
		t.Fatal("side B has side A's message: the partition did not cut")
	}
	for i, c := range cut {
		d.docker("network", "connect", "--alias", node(1)[1+i], network, c)
	}
	d.converged(60 * time.Second)
	t.Logf("partition: side A mined %d messages, side B %d; after healing all three agree on tip %.16s… holding all %d acknowledged messages once",
		len(a), len(b), d.tip(1), len(d.acked))
}

// One node at a time is restarted (compose restart: SIGTERM, then start)
// while messages keep arriving at the others: nothing is lost.
func (d *dockerNet) checkRollingRestart(t *testing.T) {
	for n := 1; n <= 3; n++ {
		other := n%3 + 1
		d.add(other, fmt.Sprintf("while node %d restarts", n))
		start := time.Now()
		d.mustRun(append([]string{"restart", "-t", "10"}, node(n)...)...)
		if took := time.Since(start); took > 30*time.Second {
			t.Fatalf("restarting node %d took %v: a daemon did not stop on SIGTERM", n, took)
		}
		d.waitHealthy(60 * time.Second)
	}
	d.converged(60 * time.Second)
}

// compose down (keeping the volumes) and up again: the chains are kept.
func (d *dockerNet) checkDownAndUp(t *testing.T) {
	var before struct {
		Height int
		Tip    string
	}
	if err := d.getJSON(2, "/health", &before); err != nil {
		t.Fatal(err)
	}
	d.mustRun("down", "-t", "10")
	d.mustRun("up", "-d")
	d.waitHealthy(60 * time.Second)
	for n := 1; n <= 3; n++ {
		var b struct{ Index int }
		if err := d.getJSON(n, "/blocks/"+url.PathEscape(before.Tip), &b); err != nil || b.Index != before.Height {
			t.Fatalf("node %d lost block %d (%s) across down and up: %v", n, before.Height, before.Tip, err)
		}
	}
	d.add(1, "after down and up")
	d.converged(60 * time.Second)
}

func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return lines[len(lines)-1]
}
