package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
)

// Announcements are rate-limited per sender IP: an honest node announces
// once per new tip (a few per second at most, in bursts after a reorg).
const (
	AnnouncesPerSecond = 4
	AnnounceBurst      = 16
)

// serveAnnounce is POST /announce: a peer says it has a new tip (and may
// include the newest blocks). bc-serve checks the shape and hands it to
// bc-gossip through the chain directory's inbox (one file per remote IP,
// the latest winning); bc-gossip validates the blocks and decides.
func (s *Server) serveAnnounce(w http.ResponseWriter, r *http.Request) {
	if s.overLimit(w, r, s.announces, "announcements", AnnouncesPerSecond, AnnounceBurst) {
		return
	}
	host, _, _ := net.SplitHostPort(r.RemoteAddr)
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxAnnounceBytes)
	var a node.Announcement
	dec := json.NewDecoder(body)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&a); err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			s.fail(w, r, http.StatusRequestEntityTooLarge, fmt.Sprintf("announcement is larger than %d bytes (max_announce_bytes)", s.opts.MaxAnnounceBytes), "")
			return
		}
		s.fail(w, r, http.StatusBadRequest, "not an announcement: "+err.Error(), "")
		return
	}
	if err := a.Check(); err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error(), "")
		return
	}
	a.Remote = host
	a.Received = time.Now().UnixMilli()
	if v := s.node.chainView(); v != nil && !a.Genesis.IsZero() && a.Genesis != v.Genesis() {
		s.fail(w, r, http.StatusConflict, "announcement for another chain (genesis "+a.Genesis.String()+")", "")
		return
	}
	inbox, err := s.dir.Subdir(store.InboxDir)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	name := filepath.Join(store.InboxDir, "announce-"+strings.NewReplacer(":", "_", ".", "_").Replace(host)+".json")
	if _, err := os.Lstat(s.dir.File(name)); err != nil {
		if entries, err := os.ReadDir(inbox); err == nil && len(entries) >= s.opts.MaxInbox {
			w.Header().Set("Retry-After", "5")
			s.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("too many announcements waiting (max_inbox %d)", s.opts.MaxInbox), "")
			return
		}
	}
	data, _ := json.Marshal(a)
	if err := s.dir.WriteFileAtomic(name, data, store.FileMode); err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "could not store the announcement: "+err.Error(), "")
		return
	}
	s.reply(w, http.StatusAccepted, map[string]any{"message": "Announcement accepted", "height": a.Height})
}
