package node

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"sort"
	"time"

	"github.com/bc-chain/bc/pkg/store"
)

// Book is the neighbour list file (neighbours.json) of a chain directory:
// bc-gossip keeps it, bc-serve serves and edits it (DELETE /neighbours).
type Book struct {
	// Neighbours are the peers this node talks to, at most the maximum.
	Neighbours []Addr `json:"neighbours"`
	// Known are addresses learned and not (or no longer) neighbours, kept to
	// replace neighbours that fail.
	Known []Known `json:"known"`
	// Removed are addresses an administrator removed; they are not added
	// back before Until (Unix ms).
	Removed []Removed `json:"removed"`
	// Updated is when the book was last written (Unix ms).
	Updated int64 `json:"updated"`
}

// Known is an address learned from a peer or given on the command line.
type Known struct {
	Addr     Addr  `json:"addr"`
	From     Addr  `json:"from,omitempty"`  // who told us ("" when configured)
	Failures int   `json:"failures"`        // consecutive failed contacts
	LastOK   int64 `json:"last_ok"`         // Unix ms of the last successful contact
	LastFail int64 `json:"last_fail"`       // Unix ms of the last failure
	Banned   int64 `json:"banned_until"`    // Unix ms; set after invalid data
	Added    int64 `json:"added,omitempty"` // Unix ms when it was learned
	// Reason is why the last contact failed ("" once one succeeds).
	Reason string `json:"reason,omitempty"`
	// BanReason is why the peer was banned; it is kept apart from Reason
	// so that a contact in flight when the ban fell cannot erase it.
	BanReason string `json:"ban_reason,omitempty"`
	// Trust is the most private scope this address may be dialled at:
	// "configured" (given by the operator), or the scope of the peer that
	// relayed it ("loopback", "private", "public").
	Trust string `json:"trust"`
}

// Removed is an address removed by an administrator.
type Removed struct {
	Addr  Addr  `json:"addr"`
	Until int64 `json:"until"`
}

// Trust levels recorded with each known address (see Known.Trust).
const (
	TrustConfigured = "configured"
	TrustLoopback   = "loopback"
	TrustPrivate    = "private"
	TrustPublic     = "public"
)

// RemovalBan is how long an address removed by an administrator stays out.
const RemovalBan = time.Hour

// maxBookBytes bounds the neighbour file a reader accepts.
const maxBookBytes = 4 << 20

// ReadBook reads the neighbour list of d; a missing file is an empty book.
func ReadBook(d *store.Dir) (Book, error) {
	var b Book
	data, err := d.ReadFile(store.NeighboursFile)
	if err != nil {
		return b, err
	}
	if len(data) == 0 {
		return b, nil
	}
	if len(data) > maxBookBytes {
		return b, fmt.Errorf("%s is larger than %d bytes", store.NeighboursFile, maxBookBytes)
	}
	if err := json.Unmarshal(data, &b); err != nil {
		return b, fmt.Errorf("read %s: %w", store.NeighboursFile, err)
	}
	return b, nil
}

// Clone returns a copy of b that shares no memory with it, for a book
// that one goroutine edits while another encodes it.
func (b *Book) Clone() Book {
	c := *b
	c.Neighbours = slices.Clone(b.Neighbours)
	c.Known = slices.Clone(b.Known)
	c.Removed = slices.Clone(b.Removed)
	return c
}

// Encode returns the file content.
func (b *Book) Encode() []byte {
	if b.Neighbours == nil {
		b.Neighbours = []Addr{}
	}
	if b.Known == nil {
		b.Known = []Known{}
	}
	if b.Removed == nil {
		b.Removed = []Removed{}
	}
	sort.Slice(b.Known, func(i, j int) bool { return b.Known[i].Addr < b.Known[j].Addr })
	out, _ := json.MarshalIndent(b, "", "  ")
	return append(out, '\n')
}

// UpdateBook changes the neighbour list under its lock and writes it
// atomically.
func UpdateBook(ctx context.Context, d *store.Dir, fn func(b *Book) error) error {
	return d.Update(ctx, store.NeighboursFile, store.NeighboursLock, func(old []byte) ([]byte, error) {
		var b Book
		if len(old) > 0 {
			if err := json.Unmarshal(old, &b); err != nil {
				// A damaged book is rebuilt rather than blocking every edit.
				b = Book{}
			}
		}
		if err := fn(&b); err != nil {
			return nil, err
		}
		b.Updated = time.Now().UnixMilli()
		return b.Encode(), nil
	})
}

// Remove takes a from the neighbours and known addresses and keeps it out
// for RemovalBan. It reports whether a was a neighbour or known.
func (b *Book) Remove(a Addr, now time.Time) bool {
	found := b.IsNeighbour(a) || b.Lookup(a) != nil
	b.DropNeighbour(a)
	b.Known = slices.DeleteFunc(b.Known, func(k Known) bool { return k.Addr == a })
	until := now.Add(RemovalBan).UnixMilli()
	for i := range b.Removed {
		if b.Removed[i].Addr == a {
			b.Removed[i].Until = until
			return found
		}
	}
	b.Removed = append(b.Removed, Removed{Addr: a, Until: until})
	return found
}

// IsRemoved reports whether a was removed by an administrator and is
// still kept out.
func (b *Book) IsRemoved(a Addr, now time.Time) bool {
	for _, r := range b.Removed {
		if r.Addr == a && r.Until > now.UnixMilli() {
			return true
		}
	}
	return false
}

// Lookup returns the entry of a, or nil.
func (b *Book) Lookup(a Addr) *Known {
	for i := range b.Known {
		if b.Known[i].Addr == a {
			return &b.Known[i]
		}
	}
	return nil
}

// Entry returns the entry of a, adding one (public trust) if a is unknown.
func (b *Book) Entry(a Addr) *Known {
	if k := b.Lookup(a); k != nil {
		return k
	}
	b.Known = append(b.Known, Known{Addr: a, Trust: TrustPublic})
	return &b.Known[len(b.Known)-1]
}

// IsNeighbour reports whether a is a neighbour.
func (b *Book) IsNeighbour(a Addr) bool { return slices.Contains(b.Neighbours, a) }

// EvictUnproven makes room for a new address: it drops the known address
// that has least shown to be a node, among those never reached (LastOK
// zero) and neither configured nor a neighbour: the most failures first,
// then the oldest learned, banned ones last (their ban is worth keeping).
// Addresses that answered once (like Bitcoin's "tried" table) are never
// evicted for a newcomer. It reports whether it dropped one.
func (b *Book) EvictUnproven() bool {
	worst := -1
	worse := func(i, j int) bool { // whether Known[i] goes before Known[j]
		ki, kj := &b.Known[i], &b.Known[j]
		if (ki.Banned != 0) != (kj.Banned != 0) {
			return kj.Banned != 0
		}
		if ki.Failures != kj.Failures {
			return ki.Failures > kj.Failures
		}
		return ki.Added < kj.Added
	}
	for i := range b.Known {
		k := &b.Known[i]
		if k.LastOK != 0 || k.Trust == TrustConfigured || b.IsNeighbour(k.Addr) {
			continue
		}
		if worst < 0 || worse(i, worst) {
			worst = i
		}
	}
	if worst < 0 {
		return false
	}
	b.Known = slices.Delete(b.Known, worst, worst+1)
	return true
}

// DropNeighbour removes a from the neighbours (it stays known).
func (b *Book) DropNeighbour(a Addr) {
	b.Neighbours = slices.DeleteFunc(b.Neighbours, func(n Addr) bool { return n == a })
}
