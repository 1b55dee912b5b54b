package miner

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/store"
)

// StatusFile is where bc-mine publishes its state for bc-serve's /health
// and /metrics (hash rate, blocks mined): a small JSON file in the chain
// directory, replaced atomically when something changed.
const StatusFile = "bc-mine.status.json"

// Status is the content of StatusFile.
type Status struct {
	PID      int     `json:"pid"`
	Updated  int64   `json:"updated"` // Unix ms
	Running  bool    `json:"running"`
	Rate     float64 `json:"rate"` // attempts/s of the current or last search
	Blocks   uint64  `json:"blocks_mined"`
	Messages uint64  `json:"messages_mined"`
	Restarts uint64  `json:"restarts"`
}

// ReadStatus reads a miner's status file; ok is false when there is none.
func ReadStatus(d *store.Dir) (Status, bool) {
	var s Status
	ok := d.ReadJSON(StatusFile, &s)
	return s, ok
}

type statusFile struct {
	dir  *store.Dir
	m    *Miner
	mu   sync.Mutex
	last Status
	done chan struct{}
	once sync.Once
}

func newStatusFile(d *store.Dir, m *Miner) *statusFile {
	return &statusFile{dir: d, m: m, done: make(chan struct{})}
}

// run writes the status every 2 s when it changed, until ctx ends.
func (s *statusFile) run(ctx context.Context) {
	defer close(s.done)
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	s.write(true)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			s.write(true)
		}
	}
}

func (s *statusFile) write(running bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st := s.m.Stats()
	cur := Status{PID: os.Getpid(), Running: running, Rate: s.m.Rate(), Blocks: st.Blocks, Messages: st.Messages, Restarts: st.Restarts}
	if cur == s.last {
		return
	}
	cur.Updated = time.Now().UnixMilli()
	if err := s.dir.WriteJSON(StatusFile, cur); err == nil {
		cur.Updated = 0
		s.last = cur
	}
}

// stop marks the miner as stopped once run has returned.
func (s *statusFile) stop() {
	s.once.Do(func() {
		<-s.done
		s.write(false)
	})
}
