package store

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
)

// The node's records: what the chain alone cannot say and a learner asks
// (the web UI shows them): where each recent block came from, and every
// chain replacement with the blocks it dropped. They are informational:
// written under the chain lock with the change they describe, appended
// without fsync (a crash may lose the newest record, never the chain's
// data), each file bounded (originsMax, reorgsMax; the older half is dropped when it
// grows beyond), and a reader skips a line it cannot parse.
const (
	OriginsFile = "origins.jsonl" // where each recent block came from
	ReorgsFile  = "reorgs.jsonl"  // every chain replacement
)

// Bounds of the records.
const (
	originsMax     = 512 << 10 // about 4,500 blocks
	reorgsMax      = 512 << 10
	maxBriefBlocks = 64  // dropped or adopted blocks described per reorg
	maxBriefIDs    = 256 // re-pended message ids listed per reorg
)

// Origin says where a block came from.
type Origin struct {
	Hash   chain.Hash `json:"hash"`
	Index  uint64     `json:"index"`
	Origin string     `json:"origin"` // "mined here", "peer HOST:PORT", "backup NAME"
	Time   int64      `json:"time"`   // Unix ms when it was written
}

// Origins of blocks written by this node's programs.
const (
	OriginMined = "mined here"
)

// OriginPeer is the origin of blocks taken from a peer.
func OriginPeer(addr string) string { return "peer " + addr }

// BlockBrief describes a block in a reorg record.
type BlockBrief struct {
	Index     uint64     `json:"index"`
	Hash      chain.Hash `json:"hash"`
	Timestamp uint64     `json:"timestamp"`
	Messages  int        `json:"messages"`
	Origin    string     `json:"origin,omitempty"`
}

// ReorgRecord is one chain replacement: the blocks after Base were
// replaced. Dropped and Added list at most maxBriefBlocks each (the first
// after Base); the counts are whole.
type ReorgRecord struct {
	Time          int64        `json:"time"` // Unix ms
	Cause         string       `json:"cause"`
	Base          BlockBrief   `json:"base"`
	OldTip        BlockBrief   `json:"old_tip"`
	NewTip        BlockBrief   `json:"new_tip"`
	Dropped       []BlockBrief `json:"dropped"`
	DroppedCount  uint64       `json:"dropped_count"`
	Added         []BlockBrief `json:"added"`
	AddedCount    uint64       `json:"added_count"`
	Repended      []string     `json:"repended"` // ids of messages that went back to pending
	RependedCount int          `json:"repended_count"`
}

func brief(s *chain.Summary) BlockBrief {
	return BlockBrief{Index: s.Index, Hash: s.Hash, Timestamp: s.Timestamp, Messages: s.Messages}
}

// noteOriginsOf records the origin of blocks already parsed.
func (d *Dir) noteOriginsOf(sums []chain.Summary, origin string) {
	if origin == "" || len(sums) == 0 {
		return
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	now := time.Now().UnixMilli()
	for i := range sums {
		_ = enc.Encode(Origin{Hash: sums[i].Hash, Index: sums[i].Index, Origin: origin, Time: now})
	}
	d.appendRecord(OriginsFile, buf.Bytes(), originsMax)
}

// originsOf returns the recorded origins of the given blocks.
func (d *Dir) originsOf(bs []BlockBrief) {
	want := make(map[chain.Hash]int, len(bs))
	for i := range bs {
		want[bs[i].Hash] = i
	}
	_ = readRecords(d, OriginsFile, func(o *Origin) {
		if i, ok := want[o.Hash]; ok {
			bs[i].Origin = o.Origin
		}
	})
}

// appendRecord appends data to a record file (chain lock held), keeping
// the newer half when it grows beyond max. A failure is logged: records
// never stop a change of the chain.
func (d *Dir) appendRecord(name string, data []byte, max int64) {
	f, err := d.openFile(name, os.O_WRONLY|os.O_CREATE|os.O_APPEND, FileMode)
	if err != nil {
		d.log.Warn("cannot write a record", "file", name, "error", err)
		return
	}
	_, err = f.Write(data)
	size := int64(0)
	if st, serr := f.Stat(); serr == nil {
		size = st.Size()
	}
	f.Close()
	if err != nil {
		d.log.Warn("cannot write a record", "file", name, "error", err)
		return
	}
	if size > max {
		if err := d.trimRecord(name, max/2); err != nil {
			d.log.Warn("cannot trim a record file", "file", name, "error", err)
		}
	}
}

// trimRecord rewrites a record file with its newest whole lines, at most
// keep bytes.
func (d *Dir) trimRecord(name string, keep int64) error {
	data, err := d.ReadFile(name)
	if err != nil {
		return err
	}
	if int64(len(data)) > keep {
		data = data[int64(len(data))-keep:]
		if i := bytes.IndexByte(data, '\n'); i >= 0 {
			data = data[i+1:]
		}
	}
	return d.WriteFileAtomic(name, data, FileMode)
}

// readRecords calls fn with each line of a record file that parses into a
// fresh T, oldest first.
func readRecords[T any](d *Dir, name string, fn func(*T)) error {
	f, err := d.openRead(name)
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(io.LimitReader(f, 4*reorgsMax))
	sc.Buffer(make([]byte, 64<<10), reorgsMax)
	for sc.Scan() {
		var v T
		if json.Unmarshal(sc.Bytes(), &v) == nil {
			fn(&v)
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("read %s: %w", name, err)
	}
	return nil
}

// OriginOf returns where the block with hash h came from, if recorded.
func (d *Dir) OriginOf(h chain.Hash) (Origin, bool, error) {
	var found Origin
	ok := false
	err := readRecords(d, OriginsFile, func(o *Origin) {
		if o.Hash == h {
			found, ok = *o, true // the newest record wins
		}
	})
	return found, ok, err
}

// Reorgs returns the recorded chain replacements, newest first, at most n.
func (d *Dir) Reorgs(n int) ([]ReorgRecord, error) {
	var all []ReorgRecord
	err := readRecords(d, ReorgsFile, func(r *ReorgRecord) { all = append(all, *r) })
	out := make([]ReorgRecord, 0, min(n, len(all)))
	for i := len(all) - 1; i >= 0 && len(out) < n; i-- {
		out = append(out, all[i])
	}
	return out, err
}

// noteReorg appends a reorg record (chain lock held).
func (d *Dir) noteReorg(r ReorgRecord) {
	data, err := json.Marshal(r)
	if err != nil {
		return
	}
	d.appendRecord(ReorgsFile, append(data, '\n'), reorgsMax)
}
