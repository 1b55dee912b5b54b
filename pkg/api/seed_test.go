package api_test

import (
	"encoding/json"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// seedNode is a node whose bc-serve also answers the seed's clients.
type seedNode struct {
	*node
	seed *node // the same bc-serve, on its --seed-listen address
}

// startSeedNode creates a chain of difficulty 8 (nothing mines it until the
// test runs bc-mine --once) and serves it on both ports.
func startSeedNode(t *testing.T) seedNode {
	n := &node{Node: nodetest.New(t).Node("seedy", 8)}
	n.url = n.URL()
	n.Create()
	seedAddr := net.JoinHostPort("127.0.0.1", strconv.Itoa(proctest.FreePort(t)))
	n.Start("bc-serve", "--seed-listen", seedAddr)
	return seedNode{node: n, seed: &node{Node: n.Node, url: "http://" + seedAddr}}
}

// pickled decodes an answer's jsonpickle string (the document inside a
// JSON string) into v.
func pickled(t *testing.T, text any, v any) {
	t.Helper()
	s, ok := text.(string)
	if !ok {
		t.Fatalf("not a jsonpickle string: %#v", text)
	}
	if err := json.Unmarshal([]byte(s), v); err != nil {
		t.Fatalf("the jsonpickle document is not JSON: %v\n%s", err, s)
	}
}

type pickledData struct {
	Class   string `json:"py/object"`
	ID      string `json:"_id"`
	Message string `json:"_message"`
}

type pickledBlock struct {
	Class     string          `json:"py/object"`
	Index     int             `json:"_index"`
	Timestamp json.Number     `json:"_timestamp"`
	Data      json.RawMessage `json:"_data"`
	Proof     uint64          `json:"_proof"`
	PrevHash  string          `json:"_previous_hash"`
}

// With --seed-listen, bc-serve answers the seed's CLI and miner in the
// seed's shapes on a second port; bc's own port keeps plain JSON.
func TestSeedListen(t *testing.T) {
	n := startSeedNode(t)
	a := n.seed.req(t, "PUT", "/add?message="+url.QueryEscape("from the seed's CLI"), "", "").expect(t, 200, `"message":"Message added!"`, `"more_information":"Will be mined in a future block."`)
	id := a.body["id"].(string)
	n.seed.req(t, "PUT", "/add", "", "").expect(t, 400, `"message":"No Message added!"`, `"more_information":"`)
	n.req(t, "PUT", "/add?message=second", "", "").expect(t, 200)
	// What is not the seed's is not on the seed's port.
	n.seed.req(t, "GET", "/health", "", "").expect(t, 404, `"message":"'health' is not a valid endpoint!"`)
	n.seed.req(t, "GET", "/blocks", "", "").expect(t, 404)

	// /data: the pending messages as a pickled set of Data.
	var set struct {
		Set []pickledData `json:"py/set"`
	}
	var data any
	must(t, json.Unmarshal([]byte(n.seed.req(t, "GET", "/data", "", "").expect(t, 200).raw), &data))
	pickled(t, data, &set)
	if len(set.Set) != 2 || set.Set[0].Class != "blockchain.blockchain.data.Data" || set.Set[0].ID != id || set.Set[0].Message != "from the seed's CLI" {
		t.Fatalf("/data on the seed's port: %+v", set.Set)
	}

	// /neighbours: an empty pickled set (bc's neighbours speak bc).
	nb := n.seed.req(t, "GET", "/neighbours", "", "").expect(t, 200, `"length":0`)
	var neighbours map[string][]any
	pickled(t, nb.body["neighbours"], &neighbours)
	if s, ok := neighbours["py/set"]; !ok || len(s) != 0 {
		t.Fatalf("/neighbours on the seed's port: %s", nb.raw)
	}

	// /chain: the seed's objects, the same blocks as bc's /chain.
	if out, errOut, code := n.Run("", "bc-mine", "--dir", n.Path, "--once"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, errOut)
	}
	proctest.Eventually(t, 10*time.Second, "the block to be served", func() bool { return n.Height() == 1 })
	c := n.seed.req(t, "GET", "/chain", "", "").expect(t, 200, `"length":2`)
	var blocks []pickledBlock
	pickled(t, c.body["chain"], &blocks)
	var plain struct {
		Chain []struct {
			Index     int    `json:"index"`
			Timestamp uint64 `json:"timestamp"`
			Proof     uint64 `json:"proof"`
			PrevHash  string `json:"previous_hash"`
		} `json:"chain"`
	}
	must(t, json.Unmarshal([]byte(n.req(t, "GET", "/chain", "", "").expect(t, 200).raw), &plain))
	if len(blocks) != 2 || len(plain.Chain) != 2 {
		t.Fatalf("/chain on the seed's port has %d blocks, bc's %d", len(blocks), len(plain.Chain))
	}
	for i, b := range blocks {
		p := plain.Chain[i]
		ts, err := strconv.ParseFloat(string(b.Timestamp), 64)
		if b.Class != "blockchain.blockchain.block.Block" || b.Index != i || b.Proof != p.Proof || b.PrevHash != p.PrevHash ||
			err != nil || int64(ts*1000+0.5) != int64(p.Timestamp) || !strings.Contains(string(b.Timestamp), ".") {
			t.Fatalf("block %d on the seed's port %+v, on bc's %+v", i, b, p)
		}
	}
	var mined []pickledData
	must(t, json.Unmarshal(blocks[1].Data, &mined)) // two messages: a list
	if len(mined) != 2 || mined[0].Message != "from the seed's CLI" || mined[0].Class != "blockchain.blockchain.data.Data" {
		t.Fatalf("block 1's data on the seed's port: %s", blocks[1].Data)
	}
	// bc's port is unchanged: plain JSON everywhere.
	n.req(t, "GET", "/neighbours", "", "").expect(t, 200, `"neighbours":[]`)
}

// seedClient does what the seed's CLI and miner do with an answer: decode
// it with the real jsonpickle into the seed's classes (stand-ins with the
// seed's module paths), and print what it got.
const seedClient = `
import json, sys, urllib.request
import jsonpickle

base = sys.argv[1]
def get(path):
    with urllib.request.urlopen(base + path) as r:
        return json.loads(r.read())

chain = jsonpickle.decode(get("/chain")["chain"])
for block in chain:
    data = block._data if isinstance(block._data, list) else [block._data]
    print(type(block).__name__, block._index, type(block._timestamp).__name__, len(block._previous_hash),
          " | ".join(type(d).__name__ + ":" + d._message for d in data))
print("neighbours", len(jsonpickle.decode(get("/neighbours")["neighbours"])))
print("data", sorted(d._message for d in jsonpickle.decode(get("/data"))))
`

func TestSeedListenWithJsonpickle(t *testing.T) {
	python := "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import jsonpickle").Run(); err != nil {
		proctest.SkipMissing(t, "python3-jsonpickle is not installed (apt-get install python3-jsonpickle): the seed's clients decode with it")
	}
	// The seed's classes, where jsonpickle looks for them.
	lib := t.TempDir()
	for file, text := range map[string]string{
		"blockchain/__init__.py":            "",
		"blockchain/blockchain/__init__.py": "",
		"blockchain/blockchain/block.py":    "class Block:\n    pass\n",
		"blockchain/blockchain/data.py":     "class Data:\n    pass\n",
		"client.py":                         seedClient,
	} {
		path := filepath.Join(lib, file)
		must(t, os.MkdirAll(filepath.Dir(path), 0o755))
		must(t, os.WriteFile(path, []byte(text), 0o644))
	}
	n := startSeedNode(t)
	n.seed.req(t, "PUT", "/add?message=mined+one", "", "").expect(t, 200)
	if out, errOut, code := n.Run("", "bc-mine", "--dir", n.Path, "--once"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, errOut)
	}
	proctest.Eventually(t, 10*time.Second, "the block to be served", func() bool { return n.Height() == 1 })
	n.seed.req(t, "PUT", "/add?message="+url.QueryEscape("still pending é"), "", "").expect(t, 200)

	cmd := exec.Command(python, filepath.Join(lib, "client.py"), n.seed.url)
	cmd.Env = append(os.Environ(), "PYTHONPATH="+lib)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("the seed's decoding failed: %v\n%s", err, out)
	}
	want := "Block 0 float 64 Data:This is the workload of the very first Block in this chain!\n" +
		"Block 1 float 64 Data:mined one\n" +
		"neighbours 0\n" +
		"data ['still pending é']\n"
	if string(out) != want {
		t.Fatalf("the seed's client printed:\n%s\nwant:\n%s", out, want)
	}
}
