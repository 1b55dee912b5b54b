package api

import (
	"context"
	"crypto/subtle"

	"github.com/bc-chain/bc/pkg/store"
)

// committer stores /add messages with group commit: while one batch is
// being written and fsynced, new requests queue, and the next batch takes
// them all in one write and one fsync. No request is answered before its
// message is on disk.
type committer struct {
	dir  *store.Dir
	node *nodeState
	reqs chan addReq
}

type addReq struct {
	e    store.PendingEntry
	done chan error
}

// maxBatch bounds one group commit.
const maxBatch = 4096

func newCommitter(d *store.Dir, n *nodeState) *committer {
	return &committer{dir: d, node: n, reqs: make(chan addReq, maxBatch)}
}

// add queues e and waits until it is durable (or ctx ends first; the
// message may still be stored then, as with any lost answer).
func (c *committer) add(ctx context.Context, e store.PendingEntry) error {
	req := addReq{e: e, done: make(chan error, 1)}
	select {
	case c.reqs <- req:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-req.done:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// run writes batches until ctx ends.
func (c *committer) run(ctx context.Context) {
	for {
		var first addReq
		select {
		case first = <-c.reqs:
		case <-ctx.Done():
			return
		}
		batch := []addReq{first}
	drain:
		for len(batch) < maxBatch {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break drain
			}
		}
		entries := make([]store.PendingEntry, len(batch))
		for i, r := range batch {
			entries[i] = r.e
		}
		c.node.writing.Add(1)
		w, err := c.dir.AddPendingAt(context.Background(), entries)
		if err == nil {
			// Take them in at once, so that a client that asks right
			// after its 200 sees its message pending (without reading
			// back what was just written, when no one else appended).
			c.node.appliedPending(w)
		}
		c.node.writing.Add(-1)
		// Another appender's event may have been left to this batch
		// after it looked: catch up now (one stat when nothing came).
		c.node.catchUpPending()
		for _, r := range batch {
			r.done <- err
		}
	}
}

func constantTimeEqual(a, b string) bool {
	return subtle.ConstantTimeCompare([]byte(a), []byte(b)) == 1
}
