package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/api"
	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
	nodefile "github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

func TestMain(m *testing.M) { proctest.Main(m, nil) }

var must = nodetest.Must

// node is a bc-serve under test (the shared harness, nodetest), with the
// request helpers of this file.
type node struct {
	*nodetest.Node
	url string
}

// startNode starts bc-serve, and bc-mine first when mine is set (else the
// directory has no chain).
func startNode(t *testing.T, mine bool, difficulty int, mineArgs ...string) *node {
	t.Helper()
	n := &node{Node: nodetest.New(t).Node("api", difficulty)}
	n.url = n.URL()
	if mine {
		n.Start("bc-mine", mineArgs...)
	}
	n.Start("bc-serve")
	return n
}

type answer struct {
	code int
	body map[string]any
	raw  string
	hdr  http.Header
}

func (n *node) req(t *testing.T, method, path, ctype, body string) answer {
	t.Helper()
	req, err := http.NewRequest(method, n.url+path, strings.NewReader(body))
	must(t, err)
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{code: resp.StatusCode, raw: string(raw), hdr: resp.Header}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) expect(t *testing.T, code int, contains ...string) answer {
	t.Helper()
	if a.code != code {
		t.Fatalf("status %d, want %d: %s", a.code, code, a.raw)
	}
	for _, c := range contains {
		if !strings.Contains(a.raw, c) {
			t.Fatalf("answer %s does not contain %q", a.raw, c)
		}
	}
	// Every error answer names itself twice: the seed's "message" and
	// bc's "error" (README). /health's 503 is a status with a reason.
	if code >= 400 && a.body["reason"] == nil && (a.body["message"] == nil || a.body["error"] == nil || a.body["error"] == "") {
		t.Fatalf("error answer %d without message and error: %s", code, a.raw)
	}
	return a
}

// The seed's endpoints with the seed's answers, and bc's additions.
func TestSeedEndpoints(t *testing.T) {
	n := startNode(t, true, 12)
	// /add: query (the seed), JSON body, form; 400 when empty or missing.
	a := n.req(t, "PUT", "/add?message="+url.QueryEscape("hello seed"), "", "").expect(t, 200, `"message":"Message added!"`)
	id1 := a.body["id"].(string)
	a = n.req(t, "POST", "/add", "application/json", `{"message":"from json <b>&"}`).expect(t, 200, "Message added!")
	id2 := a.body["id"].(string)
	n.req(t, "POST", "/add", "application/x-www-form-urlencoded", "message=from+a+form").expect(t, 200, "Message added!")
	n.req(t, "PUT", "/add", "", "").expect(t, 400, `"message":"No Message added!"`)
	n.req(t, "PUT", "/add?message=", "", "").expect(t, 400, "No Message added!", "empty")
	n.req(t, "POST", "/add", "application/json", `{"message":"  \t\n "}`).expect(t, 400, "No Message added!", "white space")
	n.req(t, "POST", "/add", "application/json", `{"text":"wrong field"}`).expect(t, 400, "No Message added!")
	n.req(t, "POST", "/add", "application/json", `not json`).expect(t, 400, "No Message added!")
	n.req(t, "POST", "/add", "text/plain", `hello`).expect(t, 400, "unsupported content type")
	n.req(t, "POST", "/add?message=x&id=NOT-A-UUID", "", "").expect(t, 400, "lowercase UUID")
	n.req(t, "GET", "/add?message=x", "", "").expect(t, 405, "not allowed")
	// Idempotent retry with the same id; a different message under it is
	// refused: ids are bound to their text.
	n.req(t, "PUT", "/add?message=hello+seed&id="+id1, "", "").expect(t, 200, `"duplicate":true`)
	n.req(t, "PUT", "/add?message=other&id="+id1, "", "").expect(t, 400, "not bound")
	own := chain.NewMessageID("my own id")
	n.req(t, "PUT", "/add?message=my+own+id&id="+own, "", "").expect(t, 200, `"id":"`+own+`"`)

	// Unknown paths: the seed's 404 wording.
	n.req(t, "GET", "/nope/deeper", "", "").expect(t, 404, `"message":"'nope/deeper' is not a valid endpoint!"`)

	// Everything gets mined; /data/<id> follows it.
	proctest.Eventually(t, 20*time.Second, "the messages to be mined", func() bool {
		return n.req(t, "GET", "/data/"+id2, "", "").body["status"] == "mined"
	})
	st := n.req(t, "GET", "/data/"+id1, "", "").expect(t, 200, `"status":"mined"`, `"message":"hello seed"`)
	if st.body["confirmations"].(float64) < 1 {
		t.Fatalf("confirmations: %s", st.raw)
	}
	n.req(t, "GET", "/data/"+chain.NewMessageID("never added"), "", "").expect(t, 404, "unknown")
	n.req(t, "GET", "/data/xyz", "", "").expect(t, 400)

	// /chain: real blocks and the length; it verifies.
	c := n.req(t, "GET", "/chain", "", "").expect(t, 200, `"chain":[{"index":0`)
	length := int(c.body["length"].(float64))
	if length < 2 || len(c.body["chain"].([]any)) != length {
		t.Fatalf("/chain: %s", c.raw)
	}
	if !strings.Contains(c.raw, `from json <b>&`) {
		t.Fatal("/chain escapes HTML characters: blocks are not canonical")
	}
	out, errOut, code := n.Exec(c.raw, "bc-verify")
	if code != 0 {
		t.Fatalf("bc-verify of /chain: %s %s", out, errOut)
	}
	n.req(t, "GET", "/data", "", "").expect(t, 200, `"data":[]`, `"length":0`)
	n.req(t, "GET", "/neighbours", "", "").expect(t, 200, `"neighbours":[]`, `"length":0`)

	// /health
	h := n.req(t, "GET", "/health", "", "").expect(t, 200, `"status":"ok"`, `"strategy":"default"`, `"difficulty":12`)
	for _, k := range []string{"height", "tip", "peers", "pending", "uptime_seconds", "genesis"} {
		if _, ok := h.body[k]; !ok {
			t.Fatalf("/health lacks %s: %s", k, h.raw)
		}
	}
	// /metrics
	n.req(t, "GET", "/metrics", "", "").expect(t, 200, "bc_chain_height", "bc_pending_messages", "bc_neighbours",
		"# TYPE bc_miner_attempts_total counter", "# TYPE bc_miner_blocks_mined_total counter", "# TYPE bc_gossip_blocks_adopted_total counter",
		"# TYPE bc_gossip_reorgs_total counter", `bc_build_info{commit="`, `goversion="go`, `bc_http_requests_total{code="200",method="PUT",route="/add"}`,
		"bc_http_request_duration_seconds_bucket")
}

func TestBlocksPaging(t *testing.T) {
	n := startNode(t, true, 8, "--max-messages", "1")
	d, _ := store.Open(n.Path, store.Options{})
	var es []store.PendingEntry
	for i := 0; i < 30; i++ {
		es = append(es, store.PendingEntry{ID: chain.NewMessageID(fmt.Sprint("m", i)), Message: fmt.Sprint("m", i), Received: 1})
	}
	must(t, d.AddPending(context.Background(), es))
	proctest.Eventually(t, 20*time.Second, "30 messages mined", func() bool {
		return n.req(t, "GET", "/data/"+es[29].ID, "", "").body["status"] == "mined"
	})
	tip := int(n.req(t, "GET", "/health", "", "").body["height"].(float64))
	p := n.req(t, "GET", "/blocks?from=0&limit=2", "", "").expect(t, 200, `"more":true`)
	blocks := p.body["blocks"].([]any)
	if len(blocks) != 2 || blocks[0].(map[string]any)["index"].(float64) != 1 {
		t.Fatalf("page: %s", p.raw)
	}
	p = n.req(t, "GET", "/blocks?from="+strconv.Itoa(tip-1), "", "").expect(t, 200, `"more":false`)
	if len(p.body["blocks"].([]any)) != 1 {
		t.Fatalf("last page: %s", p.raw)
	}
	n.req(t, "GET", "/blocks?from="+strconv.Itoa(tip), "", "").expect(t, 200, `"blocks":[]`)
	p = n.req(t, "GET", "/blocks?before=3&limit=10", "", "").expect(t, 200)
	if got := p.body["blocks"].([]any); len(got) != 3 || got[0].(map[string]any)["index"].(float64) != 0 {
		t.Fatalf("before page: %s", p.raw)
	}
	n.req(t, "GET", "/blocks?limit=0", "", "").expect(t, 400, "positive")
	n.req(t, "GET", "/blocks?limit=100000", "", "").expect(t, 400, "max_page_blocks")
	n.req(t, "GET", "/blocks?from=-1", "", "").expect(t, 400)
	n.req(t, "GET", "/blocks?from=1&before=2", "", "").expect(t, 400)
	b2 := n.req(t, "GET", "/blocks/2", "", "").expect(t, 200, `"index":2`)
	hash := b2.body["hash"].(string)
	n.req(t, "GET", "/blocks/"+hash, "", "").expect(t, 200, `"index":2`)
	n.req(t, "GET", "/blocks/"+strings.Repeat("0", 64), "", "").expect(t, 404)
	n.req(t, "GET", "/blocks/99999", "", "").expect(t, 404, "the tip is")
	n.req(t, "GET", "/blocks/abc", "", "").expect(t, 400)
}

// Every limit answers 4xx naming it; the node keeps serving.
func TestLimits(t *testing.T) {
	n := startNode(t, false, 0)
	// No chain yet: 503 where a chain is needed, /health says why.
	n.req(t, "GET", "/health", "", "").expect(t, 503, `"status":"starting"`, "no chain")
	n.req(t, "GET", "/chain", "", "").expect(t, 503, "no chain")
	long := strings.Repeat("x", chain.MaxMessageBytes+1)
	n.req(t, "POST", "/add", "application/json", `{"message":"`+long+`"}`).expect(t, 413, "max_message_bytes")
	n.req(t, "POST", "/add", "application/json", `{"message":"`+strings.Repeat("y", api.DefaultMaxBodyBytes)+`"}`).expect(t, 413, "max_body_bytes")
	n.req(t, "GET", "/data?"+strings.Repeat("q=1&", 3000), "", "").expect(t, 414, "max_query_bytes")
	n.req(t, "PUT", "/add?message=bad%FFutf8", "", "").expect(t, 400, "No Message added!", "UTF-8")
	// Headers beyond the bound: 431 from the server itself.
	req, _ := http.NewRequest("GET", n.url+"/health", nil)
	req.Header.Set("X-Big", strings.Repeat("h", 32<<10))
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestHeaderFieldsTooLarge {
		t.Fatalf("big header: %d", resp.StatusCode)
	}
	// Announcements: shape checked, size bounded.
	n.req(t, "POST", "/announce", "application/json", `{"hash":"`+strings.Repeat("a", 64)+`","height":3,"bogus":1}`).expect(t, 400)
	n.req(t, "POST", "/announce", "application/json", `{"height":3}`).expect(t, 400, "tip hash")
	n.req(t, "POST", "/announce", "application/json", `{"hash":"`+strings.Repeat("a", 64)+`","height":3,"blocks":["`+strings.Repeat("z", api.DefaultMaxAnnounceBytes)+`"]}`).expect(t, 413, "max_announce_bytes")
	n.req(t, "POST", "/announce", "application/json", `{"hash":"`+strings.Repeat("a", 64)+`","height":3,"from":"127.0.0.1:1"}`).expect(t, 202)
	if _, err := os.Stat(filepath.Join(n.Path, store.InboxDir)); err != nil {
		t.Fatal("announcement not handed over through the inbox")
	}
	// A slow client cannot hold the server: it still answers others.
	conn, err := net.Dial("tcp", "127.0.0.1:"+strconv.Itoa(n.Port))
	must(t, err)
	defer conn.Close()
	_, _ = conn.Write([]byte("GET /health HTTP/1.1\r\nHost: x\r\n"))
	n.req(t, "GET", "/neighbours", "", "").expect(t, 200)
	// The header timeout closes the slow connection.
	_ = conn.SetReadDeadline(time.Now().Add(api.DefaultReadHeaderTimeout + 5*time.Second))
	if _, err := io.ReadAll(conn); err != nil {
		t.Fatalf("slow connection not closed by the server: %v", err)
	}
}

// DELETE /neighbours/<addr>: allowed from loopback, or with the admin token.
func TestRemoveNeighbour(t *testing.T) {
	ip := nonLoopbackIP(t)
	n := nodetest.New(t).Node("admin", 0)
	dir, port, d := n.Path, n.Port, n.Dir()
	must(t, nodefile.UpdateBook(context.Background(), d, func(bk *nodefile.Book) error {
		bk.Neighbours = []nodefile.Addr{"10.1.2.3:12345", "10.1.2.4:12345"}
		return nil
	}))
	n.Start("bc-serve", "--listen", ":"+strconv.Itoa(port)) // every interface: reachable from ip
	local := &node{url: "http://127.0.0.1:" + strconv.Itoa(port)}
	remote := &node{url: "http://" + net.JoinHostPort(ip, strconv.Itoa(port))}
	remote.req(t, "DELETE", "/neighbours/10.1.2.3:12345", "", "").expect(t, 403, "admin token")
	local.req(t, "GET", "/neighbours", "", "").expect(t, 200, "10.1.2.3:12345", `"length":2`)
	local.req(t, "DELETE", "/neighbours/10.1.2.3:12345", "", "").expect(t, 200, "Neighbour removed!")
	local.req(t, "GET", "/neighbours", "", "").expect(t, 200, `"length":1`)
	token, err := os.ReadFile(filepath.Join(dir, store.TokenFile))
	must(t, err)
	if st, _ := os.Stat(filepath.Join(dir, store.TokenFile)); st.Mode().Perm() != 0o600 {
		t.Fatalf("admin.token mode %v", st.Mode().Perm())
	}
	local.req(t, "DELETE", "/neighbours/http://10.1.2.4:12345", "", "").expect(t, 400, "host:port")
	req, _ := http.NewRequest("DELETE", remote.url+"/neighbours/10.1.2.4:12345", nil)
	req.Header.Set("Authorization", "Bearer wrong")
	resp, err := http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("wrong token: %d", resp.StatusCode)
	}
	req.Header.Set("Authorization", "Bearer "+strings.TrimSpace(string(token)))
	resp, err = http.DefaultClient.Do(req)
	must(t, err)
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("with token: %d", resp.StatusCode)
	}
	local.req(t, "GET", "/neighbours", "", "").expect(t, 200, `"length":0`)
	local.req(t, "DELETE", "/neighbours/not a host", "", "").expect(t, 400)
	bk, err := nodefile.ReadBook(d)
	must(t, err)
	if !bk.IsRemoved("10.1.2.3:12345", time.Now()) {
		t.Fatal("removed neighbour is not kept out")
	}
}

func nonLoopbackIP(t *testing.T) string {
	addrs, _ := net.InterfaceAddrs()
	for _, a := range addrs {
		if ipn, ok := a.(*net.IPNet); ok && !ipn.IP.IsLoopback() && ipn.IP.To4() != nil {
			return ipn.IP.String()
		}
	}
	proctest.SkipMissing(t, "no non-loopback address to test a remote caller from")
	return ""
}

// /events streams new blocks and pending messages as they happen.
func TestEvents(t *testing.T) {
	n := startNode(t, true, 10)
	resp, err := http.Get(n.url + "/events")
	must(t, err)
	defer resp.Body.Close()
	if ct := resp.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	events := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(resp.Body)
		name := ""
		for sc.Scan() {
			line := sc.Text()
			if v, ok := strings.CutPrefix(line, "event: "); ok {
				name = v
			}
			if v, ok := strings.CutPrefix(line, "data: "); ok {
				events <- name + " " + v
			}
		}
		close(events)
	}()
	wait := func(prefix, contains string) {
		t.Helper()
		deadline := time.After(20 * time.Second)
		for {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("event stream ended")
				}
				if strings.HasPrefix(ev, prefix) && strings.Contains(ev, contains) {
					return
				}
			case <-deadline:
				t.Fatalf("no %s event containing %q", prefix, contains)
			}
		}
	}
	// hello is /health, all of it (the UI shows the version from it).
	id0 := n.req(t, "GET", "/health", "", "").expect(t, 200).body["node_id"].(string)
	wait("hello", `"node_id":"`+id0+`"`)
	a := n.req(t, "PUT", "/add?message=live", "", "").expect(t, 200)
	id := a.body["id"].(string)
	wait("pending", id)
	wait("block", id)
}

// SIGTERM: graceful shutdown within the bound, event streams closed.
func TestGracefulShutdown(t *testing.T) {
	n := startNode(t, false, 0)
	resp, err := http.Get(n.url + "/events")
	must(t, err)
	defer resp.Body.Close()
	start := time.Now()
	if code := n.Proc("bc-serve").Signal(syscall.SIGTERM, 10*time.Second); code != 0 {
		t.Fatalf("exit %d\n%s", code, n.Proc("bc-serve").Output())
	}
	if el := time.Since(start); el > api.DefaultShutdownTimeout+time.Second {
		t.Fatalf("shutdown took %v", el)
	}
}

// bc-add and bc-get against a real node.
func TestClients(t *testing.T) {
	n := startNode(t, true, 10)
	node := "--node=" + n.url
	out, e, code := n.Exec("", "bc-add", node, "one", "two <x>")
	if code != 0 || len(strings.Fields(out)) != 2 {
		t.Fatalf("bc-add: %d %q %s", code, out, e)
	}
	ids := strings.Fields(out)
	out, e, code = n.Exec("three\n\nfour\n", "bc-add", node, "--wait")
	if code != 0 || strings.Count(out, "\n") != 2 || !strings.Contains(out, "\t") {
		t.Fatalf("bc-add --wait: %d %q %s", code, out, e)
	}
	proctest.Eventually(t, 20*time.Second, "mined", func() bool {
		o, _, _ := n.Exec("", "bc-get", node, "status", ids[1])
		return strings.Contains(o, `"status":"mined"`)
	})
	chainJSON, _, code := n.Exec("", "bc-get", node, "chain")
	if code != 0 {
		t.Fatal("bc-get chain failed")
	}
	if o, e, code := n.Exec(chainJSON, "bc-verify"); code != 0 {
		t.Fatalf("bc-get chain | bc-verify: %s %s", o, e)
	}
	for _, what := range [][]string{{"health"}, {"neighbours"}, {"data"}, {"block", "1"}, {"status", ids[0]}} {
		o, e, code := n.Exec("", "bc-get", append([]string{node}, what...)...)
		if code != 0 || !json.Valid([]byte(o)) {
			t.Fatalf("bc-get %v: %d %q %s", what, code, o, e)
		}
	}
	// Errors: 404 is 1, unreachable is 2, bad usage is 2; the node's message is shown.
	_, e, code = n.Exec("", "bc-get", node, "block", "999999")
	if code != 1 || !strings.Contains(e, "no block 999999") {
		t.Fatalf("missing block: %d %s", code, e)
	}
	_, e, code = n.Exec("", "bc-get", "--node=127.0.0.1:1", "health")
	if code != 2 || !strings.Contains(e, "cannot reach") {
		t.Fatalf("unreachable: %d %s", code, e)
	}
	_, e, code = n.Exec("", "bc-get", node, "frobnicate")
	if code != 2 || !strings.Contains(e, "unknown") {
		t.Fatalf("bad usage: %d %s", code, e)
	}
	_, e, code = n.Exec("", "bc-add", node, "")
	if code != 1 || !strings.Contains(e, "empty") {
		t.Fatalf("refused message: %d %s", code, e)
	}
}

// bc-serve's command line, as a manual would show it: testdata/script.
func TestScripts(t *testing.T) { proctest.Scripts(t, "testdata/script") }
