package miner

import (
	"context"
	"os"
	"sync"
	"time"

	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

type statusFile struct {
	dir  *store.Dir
	m    *Miner
	mu   sync.Mutex
	last node.MinerStatus
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
	cur := node.MinerStatus{PID: os.Getpid(), Running: running, Rate: s.m.Rate(), Attempts: st.Attempts, Blocks: st.Blocks, Messages: st.Messages, Restarts: st.Restarts}
	if cur == s.last {
		return
	}
	cur.Updated = time.Now().UnixMilli()
	if err := s.dir.WriteJSON(node.MinerStatusFile, cur); err == nil {
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
