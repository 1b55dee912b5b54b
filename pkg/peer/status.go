package peer

import "github.com/bc-chain/bc/pkg/store"

// StatusFile is where bc-gossip publishes its counters for bc-serve's
// /health and /metrics.
const StatusFile = "bc-gossip.status.json"

// Status is the content of StatusFile.
type Status struct {
	PID           int    `json:"pid"`
	Running       bool   `json:"running"`
	Updated       int64  `json:"updated"` // Unix ms
	Neighbours    int    `json:"neighbours"`
	BlocksAdopted uint64 `json:"blocks_adopted"` // blocks written from peers
	Reorgs        uint64 `json:"reorgs"`         // chain replacements
	InvalidPeers  uint64 `json:"invalid_peers"`  // peers banned (invalid data, or misbehaviour)
	Misbehaviour  uint64 `json:"misbehaviour"`   // misbehaviour scored against peers
	PendingPulled uint64 `json:"pending_pulled"` // messages learned from peers
	Announcements uint64 `json:"announcements"`  // announcements sent
	LastSync      int64  `json:"last_sync"`      // Unix ms of the last sync round
}

// ReadStatus reads the gossip status file; ok is false when there is none.
func ReadStatus(d *store.Dir) (Status, bool) {
	var s Status
	ok := d.ReadJSON(StatusFile, &s)
	return s, ok
}
