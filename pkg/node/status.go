package node

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/bc-chain/bc/pkg/store"
)

// The daemons publish what they do in small JSON files of the chain
// directory, replaced atomically when something changed; bc-serve shows
// them in /health and /metrics.
const (
	MinerStatusFile  = "bc-mine.status.json"
	GossipStatusFile = "bc-gossip.status.json"
)

// MinerStatus is the content of MinerStatusFile.
type MinerStatus struct {
	PID      int     `json:"pid"`
	Updated  int64   `json:"updated"` // Unix ms
	Running  bool    `json:"running"`
	Rate     float64 `json:"rate"`     // attempts/s of the current or last search
	Attempts uint64  `json:"attempts"` // attempts of the finished searches
	Blocks   uint64  `json:"blocks_mined"`
	Messages uint64  `json:"messages_mined"`
	Restarts uint64  `json:"restarts"`
}

// GossipStatus is the content of GossipStatusFile.
type GossipStatus struct {
	PID           int    `json:"pid"`
	Running       bool   `json:"running"`
	Updated       int64  `json:"updated"` // Unix ms
	Neighbours    int    `json:"neighbours"`
	Reachable     int    `json:"reachable"`             // neighbours whose last contact worked
	Unreachable   string `json:"unreachable,omitempty"` // "addr (reason); ..." of those failing again and again
	BlocksAdopted uint64 `json:"blocks_adopted"`        // blocks written from peers
	Reorgs        uint64 `json:"reorgs"`                // chain replacements
	InvalidPeers  uint64 `json:"invalid_peers"`         // peers banned (invalid data, or misbehaviour)
	Misbehaviour  uint64 `json:"misbehaviour"`          // misbehaviour scored against peers
	PendingPulled uint64 `json:"pending_pulled"`        // messages learned from peers
	Announcements uint64 `json:"announcements"`         // announcements sent
	LastSync      int64  `json:"last_sync"`             // Unix ms of the last sync round
	// Peers are the neighbours as the last sync rounds saw them.
	Peers []PeerTip `json:"peers,omitempty"`
}

// PeerTip is a neighbour's chain as its last /health answer gave it.
type PeerTip struct {
	Addr      Addr   `json:"addr"`
	Height    uint64 `json:"height"`
	Tip       string `json:"tip,omitempty"`  // "" until it has answered
	Seen      int64  `json:"seen,omitempty"` // Unix ms of that answer
	Reachable bool   `json:"reachable"`      // its last contact worked
	Failures  int    `json:"failures,omitempty"`
}

// ReadMinerStatus reads bc-mine's status; ok is false when there is none.
func ReadMinerStatus(d *store.Dir) (MinerStatus, bool) {
	var s MinerStatus
	ok := d.ReadJSON(MinerStatusFile, &s)
	return s, ok
}

// ReadGossipStatus reads bc-gossip's status; ok is false when there is none.
func ReadGossipStatus(d *store.Dir) (GossipStatus, bool) {
	var s GossipStatus
	ok := d.ReadJSON(GossipStatusFile, &s)
	return s, ok
}

// ServeStatusFile is where bc-serve says where it listens, so that the
// clients given --dir find the node that serves a chain directory.
const ServeStatusFile = "bc-serve.status.json"

// ServeStatus is the content of ServeStatusFile.
type ServeStatus struct {
	PID    int    `json:"pid"`
	Listen string `json:"listen"` // as bound, e.g. [::]:12345
	URL    string `json:"url"`    // how to reach it from this machine
}

// ReadServeStatusAt reads bc-serve's status in the chain directory dir.
func ReadServeStatusAt(dir string) (ServeStatus, error) {
	var s ServeStatus
	b, err := os.ReadFile(filepath.Join(dir, ServeStatusFile))
	if err != nil {
		return s, fmt.Errorf("no bc-serve is known to serve it: %w", err)
	}
	if err := json.Unmarshal(b, &s); err != nil || s.URL == "" {
		return s, fmt.Errorf("%s: not a bc-serve status", ServeStatusFile)
	}
	return s, nil
}
