package api

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// event is one Server-Sent Event.
type event struct {
	id   uint64
	name string
	data []byte
}

// hub fans events out to the /events subscribers. A subscriber that cannot
// keep up is disconnected rather than allowed to slow the others down; an
// EventSource reconnects by itself.
type hub struct {
	mu     sync.Mutex
	subs   map[chan event]struct{}
	nextID uint64
	max    int
	// streams counts the handlers between subscribe and unsubscribe. A
	// subscriber dropped for being slow leaves subs at once but its
	// handler may still be writing until its deadline: the cap counts
	// handlers, so that dropped ones cannot pile up beyond it.
	streams int
}

func newHub(max int) *hub { return &hub{subs: map[chan event]struct{}{}, max: max} }

// subscriberBuffer is how many events a subscriber may lag behind.
const subscriberBuffer = 256

func (h *hub) publish(name string, v any) {
	data, err := json.Marshal(v)
	if err != nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	h.nextID++
	ev := event{id: h.nextID, name: name, data: data}
	for ch := range h.subs {
		select {
		case ch <- ev:
		default:
			delete(h.subs, ch)
			close(ch)
		}
	}
}

// subscribe returns a channel of events, or false when too many clients
// are connected.
func (h *hub) subscribe() (chan event, bool) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.streams >= h.max {
		return nil, false
	}
	h.streams++
	ch := make(chan event, subscriberBuffer)
	h.subs[ch] = struct{}{}
	return ch, true
}

// unsubscribe ends a subscription; every subscribe is paired with one.
func (h *hub) unsubscribe(ch chan event) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.streams--
	if _, ok := h.subs[ch]; ok {
		delete(h.subs, ch)
		close(ch)
	}
}

// clients returns how many event streams are open.
func (h *hub) clients() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.streams
}

// heartbeat keeps idle event streams (and the proxies between) alive.
const heartbeat = 15 * time.Second

// serveEvents streams events: "hello" (the node's health) first, then
// "block", "pending", "replaced" and "neighbours" as they happen. Every
// write has a deadline (see statusWriter): a client that stops reading is
// cut off and its slot freed.
func (s *Server) serveEvents(w http.ResponseWriter, r *http.Request) {
	ch, ok := s.hub.subscribe()
	if !ok {
		s.fail(w, r, http.StatusServiceUnavailable, fmt.Sprintf("too many event clients (max_event_clients %d)", s.opts.MaxEventClients), "")
		return
	}
	defer s.hub.unsubscribe(ch)
	if sw, ok := w.(*statusWriter); ok {
		sw.stream = true
	}
	rc := http.NewResponseController(w)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	fmt.Fprintf(w, "retry: 2000\n\nevent: hello\ndata: %s\n\n", mustJSON(s.health()))
	if err := rc.Flush(); err != nil {
		return
	}
	tick := time.NewTicker(heartbeat)
	defer tick.Stop()
	for {
		select {
		case <-r.Context().Done():
			return
		case <-s.done:
			return
		case <-tick.C:
			if _, err := fmt.Fprint(w, ": heartbeat\n\n"); err != nil {
				return
			}
		case ev, ok := <-ch:
			if !ok {
				return // too slow: the client reconnects
			}
			if _, err := fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", strconv.FormatUint(ev.id, 10), ev.name, ev.data); err != nil {
				return
			}
		}
		if err := rc.Flush(); err != nil {
			return
		}
	}
}
