package api

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"

	"github.com/bc-chain/bc/pkg/chain"
)

// The seed's miner answered /chain, /neighbours and /data with jsonpickle
// strings (Python objects written as JSON, then sent as one JSON string),
// and the seed's CLI and miner decode them with jsonpickle.decode, which
// fails on anything else. With --seed-listen, bc-serve answers the seed's
// clients in those shapes on a port of their own, so that bc's own port
// keeps plain JSON for everyone else:
//
//	/chain       {"chain": "<jsonpickle list of Block>", "length": N}
//	/neighbours  {"neighbours": "<jsonpickle set>", "length": 0}
//	/data        "<jsonpickle set of Data>"
//	/add         as on bc's port (PUT ?message=, the seed's answer)
//
// A Block is {"py/object": "blockchain.blockchain.block.Block", "_index",
// "_timestamp" (seconds, a float), "_data", "_proof", "_previous_hash"},
// its data one Data {"py/object": "blockchain.blockchain.data.Data", "_id",
// "_message"} when it holds one message (as every seed block does), else a
// list of them. The neighbour set is empty on purpose: bc's neighbours
// answer in bc's shapes, and a seed miner that learned them would lose its
// threads to them.
const (
	seedBlockClass = "blockchain.blockchain.block.Block"
	seedDataClass  = "blockchain.blockchain.data.Data"
)

// seedEndpoints are the routes of the seed's port.
func (s *Server) seedEndpoints() []endpoint {
	return []endpoint{
		{"/add", write, s.serveAdd},
		{"/chain", read, s.needChain(s.serveSeedChain)},
		{"/neighbours", read, s.serveSeedNeighbours},
		{"/data", read, s.serveSeedData},
	}
}

// seedData is a Data object as jsonpickle writes it.
type seedData struct {
	Class   string `json:"py/object"`
	ID      string `json:"_id"`
	Message string `json:"_message"`
}

// seedBlock is a Block object as jsonpickle writes it.
type seedBlock struct {
	Class     string      `json:"py/object"`
	Index     uint64      `json:"_index"`
	Timestamp json.Number `json:"_timestamp"`
	Data      any         `json:"_data"` // seedData, or []seedData
	Proof     uint64      `json:"_proof"`
	PrevHash  chain.Hash  `json:"_previous_hash"`
}

// seedSeconds writes Unix milliseconds as Python's float seconds.
func seedSeconds(ms uint64) json.Number {
	s := strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)
	if ms%1000 == 0 {
		s += ".0"
	}
	return json.Number(s)
}

// seedBlockJSON is a block as the seed's jsonpickle wrote it.
func seedBlockJSON(b *chain.Block) ([]byte, error) {
	data := make([]seedData, len(b.Data))
	for i, m := range b.Data {
		data[i] = seedData{Class: seedDataClass, ID: m.ID, Message: m.Text}
	}
	sb := seedBlock{Class: seedBlockClass, Index: b.Index, Timestamp: seedSeconds(b.Timestamp), Data: data, Proof: b.Proof, PrevHash: b.PrevHash}
	if len(data) == 1 {
		sb.Data = data[0]
	}
	return json.Marshal(sb)
}

// stringWriter writes text as the inside of a JSON string: the pieces of
// a jsonpickle document, embedded in the answer as the seed sent it.
type stringWriter struct{ w io.Writer }

func (sw stringWriter) write(text []byte) error {
	quoted, err := json.Marshal(string(text))
	if err != nil {
		return err
	}
	_, err = sw.w.Write(quoted[1 : len(quoted)-1])
	return err
}

// serveSeedChain streams the chain as the seed's /chain: each block is
// parsed and rewritten as the seed's object, chunk by chunk as /chain does
// (no lock held while writing).
func (s *Server) serveSeedChain(w http.ResponseWriter, r *http.Request) {
	v, tip, ok := s.beginChain(w, r)
	if !ok {
		return
	}
	sw := stringWriter{w}
	var p chain.Parser
	var b chain.Block
	_, _ = io.WriteString(w, `{"chain":"`)
	_ = sw.write([]byte("["))
	err := v.Lines(0, tip, func(i uint64, line []byte) error {
		if err := p.Parse(line, &b); err != nil {
			return fmt.Errorf("block %d: %w", i, err)
		}
		text, err := seedBlockJSON(&b)
		if err != nil {
			return err
		}
		if i > 0 {
			text = append([]byte(", "), text...)
		}
		return sw.write(text)
	})
	if err != nil {
		return // cut short: the client went away, or the file was replaced
	}
	_ = sw.write([]byte("]"))
	fmt.Fprintf(w, `","length":%d}`+"\n", tip+1)
}

func (s *Server) serveSeedNeighbours(w http.ResponseWriter, r *http.Request) {
	s.reply(w, http.StatusOK, map[string]any{"neighbours": `{"py/set": []}`, "length": 0})
}

// serveSeedData answers the pending messages (at most maxDataList, the
// oldest) as the seed's set of Data.
func (s *Server) serveSeedData(w http.ResponseWriter, r *http.Request) {
	es, _ := s.node.pendingList(maxDataList)
	set := struct {
		Set []seedData `json:"py/set"`
	}{Set: make([]seedData, len(es))}
	for i, e := range es {
		set.Set[i] = seedData{Class: seedDataClass, ID: e.ID, Message: e.Message}
	}
	text, err := json.Marshal(set)
	if err != nil {
		s.fail(w, r, http.StatusInternalServerError, err.Error(), "")
		return
	}
	s.reply(w, http.StatusOK, string(text))
}
