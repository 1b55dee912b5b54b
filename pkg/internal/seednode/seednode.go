// Package seednode is a stand-in for a node of the seed (the Python
// system bc re-implements) in tests: the seed's routes with its answers,
// byte for byte where bc's clients look at them. jsonpickle documents are
// written by hand: the seed's classes, as its miner sent them.
//
//	PUT /add?message=  200 {"message": "Message added!", ...}, 400 when missing
//	GET /chain         {"chain": "<jsonpickle list of Block>", "length": 1}
//	GET /neighbours    {"neighbours": "<jsonpickle set>", "length": 0}
//	GET /data          "<jsonpickle set of Data>"
//	anything else      404 {"message": "'<path>' is not a valid endpoint!"}
//
// The seed had no /health, and answered a POST to /add with its 404.
package seednode

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// genesisChain is the seed's /chain of a fresh miner (one genesis block,
// whose proof and previous hash were None).
const genesisChain = `[{"py/object": "blockchain.blockchain.block.Block", "_index": 0, "_timestamp": 1581206400.0, ` +
	`"_data": {"py/object": "blockchain.blockchain.data.Data", "_id": "00000000000000000000000000000000", ` +
	`"_message": "This is the workload of the very first Block in this chain!"}, "_proof": null, "_previous_hash": null}]`

// Node is a running stand-in seed node.
type Node struct {
	srv *httptest.Server

	mu    sync.Mutex
	added []string
	hits  map[string]int // "METHOD /path" of every request
}

// Start runs a seed node on a loopback port until the test ends.
func Start(t testing.TB) *Node {
	n := &Node{hits: map[string]int{}}
	n.srv = httptest.NewServer(http.HandlerFunc(n.serve))
	t.Cleanup(n.srv.Close)
	return n
}

// Addr is the node's host:port, URL its base URL.
func (n *Node) Addr() string { return strings.TrimPrefix(n.srv.URL, "http://") }

// URL is the node's base URL.
func (n *Node) URL() string { return n.srv.URL }

// Added returns the messages added so far.
func (n *Node) Added() []string {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]string(nil), n.added...)
}

// Hits returns how many requests asked for "METHOD /path".
func (n *Node) Hits(request string) int {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.hits[request]
}

func (n *Node) serve(w http.ResponseWriter, r *http.Request) {
	n.mu.Lock()
	n.hits[r.Method+" "+r.URL.Path]++
	n.mu.Unlock()
	switch {
	case r.URL.Path == "/add" && r.Method == http.MethodPut:
		msg := r.URL.Query().Get("message")
		if msg == "" {
			reply(w, 400, map[string]string{"message": "No Message added!", "more_information": "Missing data."})
			return
		}
		n.mu.Lock()
		n.added = append(n.added, msg)
		n.mu.Unlock()
		reply(w, 200, map[string]string{"message": "Message added!", "more_information": "Will be mined in a future block."})
	case r.URL.Path == "/chain" && r.Method == http.MethodGet:
		reply(w, 200, map[string]any{"chain": genesisChain, "length": 1})
	case r.URL.Path == "/neighbours" && r.Method == http.MethodGet:
		reply(w, 200, map[string]any{"neighbours": `{"py/set": []}`, "length": 0})
	case r.URL.Path == "/data" && r.Method == http.MethodGet:
		reply(w, 200, `{"py/set": []}`)
	default:
		reply(w, 404, map[string]string{"message": fmt.Sprintf("'%s' is not a valid endpoint!", strings.TrimPrefix(r.URL.Path, "/"))})
	}
}

func reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
