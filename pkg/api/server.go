// Package api is bc-serve: the node's REST API and web UI over a chain
// directory. See the README for every endpoint, its answers and its limits.
package api

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	jsonv2 "github.com/go-json-experiment/json"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/node"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/validate"
)

// Limits and timeouts, each with a name that 4xx answers quote.
const (
	// DefaultMaxBodyBytes bounds the body of /add (a message is at most
	// chain.MaxMessageBytes, escaped it can be six times longer).
	DefaultMaxBodyBytes = 64 << 10
	// DefaultMaxAnnounceBytes bounds the body of /announce (a few blocks).
	DefaultMaxAnnounceBytes = 4 << 20
	// DefaultMaxHeaderBytes bounds the request line and headers, query
	// string included.
	DefaultMaxHeaderBytes = 16 << 10
	// DefaultMaxQueryBytes bounds the query string.
	DefaultMaxQueryBytes = 8 << 10
	// DefaultPageBlocks and DefaultMaxPageBlocks are the default and
	// largest page of /blocks.
	DefaultPageBlocks    = 100
	DefaultMaxPageBlocks = 1000
	// DefaultMaxPageBytes bounds one page of /blocks in bytes.
	DefaultMaxPageBytes = 4 << 20
	// DefaultMaxPending and DefaultMaxPendingBytes bound the pending
	// messages, in number and in bytes of text; /add answers 503 beyond.
	// Peers may fill at most half of each (bc-gossip's limits), so that a
	// flood from peers never refuses this node's own clients.
	DefaultMaxPending      = 100_000
	DefaultMaxPendingBytes = 16 << 20
	// DefaultMaxEventClients bounds concurrent /events streams.
	DefaultMaxEventClients = 256
	// DefaultMaxInbox bounds the announcements waiting for bc-gossip.
	DefaultMaxInbox = 256
	// Timeouts of the HTTP server.
	DefaultReadHeaderTimeout = 5 * time.Second
	DefaultReadTimeout       = 15 * time.Second
	DefaultWriteTimeout      = 30 * time.Second
	DefaultIdleTimeout       = 60 * time.Second
	// DefaultShutdownTimeout bounds a graceful shutdown.
	DefaultShutdownTimeout = 5 * time.Second
)

// headerSlack is what net/http reads beyond MaxHeaderBytes (its bufio
// slop): subtracting it makes DefaultMaxHeaderBytes the real limit.
const headerSlack = 4096

// Options configure a Server.
type Options struct {
	MaxBodyBytes     int64
	MaxAnnounceBytes int64
	MaxQueryBytes    int
	MaxPageBlocks    int
	MaxPageBytes     int
	MaxPending       int
	MaxPendingBytes  int
	MaxEventClients  int
	MaxInbox         int
	MaxConnsPerIP    int
	MaxConns         int
	Rescan           time.Duration
	Version          string
	// Opener loads the chain's strategy plugin for POST /check (nil: the
	// endpoint answers 503). The caller closes what it loaded.
	Opener validate.Opener
	// Strategies describes the strategy plugins found, for GET
	// /strategies (nil: it answers 503).
	Strategies func(ctx context.Context) ([]Strategy, error)
}

func (o *Options) defaults() {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	if o.MaxBodyBytes <= 0 {
		o.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if o.MaxAnnounceBytes <= 0 {
		o.MaxAnnounceBytes = DefaultMaxAnnounceBytes
	}
	def(&o.MaxQueryBytes, DefaultMaxQueryBytes)
	def(&o.MaxPageBlocks, DefaultMaxPageBlocks)
	def(&o.MaxPageBytes, DefaultMaxPageBytes)
	def(&o.MaxPending, DefaultMaxPending)
	def(&o.MaxPendingBytes, DefaultMaxPendingBytes)
	def(&o.MaxEventClients, DefaultMaxEventClients)
	def(&o.MaxInbox, DefaultMaxInbox)
	def(&o.MaxConnsPerIP, DefaultMaxConnsPerIP)
	def(&o.MaxConns, DefaultMaxConns)
}

// Server is a running bc-serve.
type Server struct {
	dir        *store.Dir
	log        *slog.Logger
	opts       Options
	node       *nodeState
	hub        *hub
	adds       *committer
	metrics    *metrics
	mux        *http.ServeMux // bc's routes
	seedMux    *http.ServeMux // the seed's routes, for --seed-listen
	conns      *connLimits
	announces  *ipLimiter
	checks     *ipLimiter
	verifier   loadOnce[validate.Verifier]
	strategies loadOnce[[]Strategy]
	token      string
	nodeID     string
	done       chan struct{} // closed at shutdown: ends event streams
}

// New prepares a server for the chain directory d.
func New(d *store.Dir, log *slog.Logger, opts Options) (*Server, error) {
	opts.defaults()
	tok, err := d.AdminToken()
	if err != nil {
		return nil, fmt.Errorf("admin token: %w", err)
	}
	id, err := d.NodeID()
	if err != nil {
		return nil, err
	}
	h := newHub(opts.MaxEventClients)
	s := &Server{dir: d, log: log, opts: opts, hub: h, token: tok, nodeID: id, done: make(chan struct{}),
		announces: newIPLimiter(AnnouncesPerSecond, AnnounceBurst, 4096),
		checks:    newIPLimiter(ChecksPerSecond, CheckBurst, 4096)}
	s.node = newNodeState(d, log, h)
	s.adds = newCommitter(d, s.node)
	s.conns = newConnLimits(opts.MaxConnsPerIP, opts.MaxConns)
	s.metrics = newMetrics(s)
	s.mux = s.newMux(s.endpoints())
	s.seedMux = s.newMux(s.seedEndpoints())
	s.node.refresh(nil)
	return s, nil
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s }

// Serve runs the server on l (and the seed's API on seed, if not nil)
// until ctx ends, then shuts down gracefully. ready, if not nil, is called
// once the server accepts requests.
func (s *Server) Serve(ctx context.Context, l, seed net.Listener, ready func()) error {
	watchCtx, stopWatch := context.WithCancel(ctx)
	defer stopWatch()
	watchErr := make(chan error, 1)
	go func() {
		watchErr <- s.dir.Watch(watchCtx, s.opts.Rescan, nil, s.node.refresh)
	}()
	addCtx, stopAdds := context.WithCancel(context.Background())
	addsDone := make(chan struct{})
	go func() { s.adds.run(addCtx); close(addsDone) }()

	served := make(chan error, 2)
	servers := []*http.Server{s.httpServer(s)}
	if seed != nil {
		servers = append(servers, s.httpServer(seedHandler{s}))
	}
	listeners := []net.Listener{l, seed}
	for i, srv := range servers {
		go func() { served <- srv.Serve(s.conns.wrap(listeners[i])) }()
	}
	if ready != nil {
		ready()
	}
	var err error
	select {
	case <-ctx.Done():
	case err = <-served:
	case err = <-watchErr:
	}
	close(s.done)
	shutCtx, cancel := context.WithTimeout(context.Background(), DefaultShutdownTimeout)
	defer cancel()
	for _, srv := range servers {
		if serr := srv.Shutdown(shutCtx); serr != nil {
			s.log.Warn("graceful shutdown did not finish", "error", serr)
			_ = srv.Close()
		}
	}
	stopAdds()
	<-addsDone
	stopWatch()
	s.node.close()
	if errors.Is(err, http.ErrServerClosed) {
		err = nil
	}
	return err
}

// httpServer is an http.Server with bc-serve's timeouts and limits.
func (s *Server) httpServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: DefaultReadHeaderTimeout,
		ReadTimeout:       DefaultReadTimeout,
		WriteTimeout:      DefaultWriteTimeout,
		IdleTimeout:       DefaultIdleTimeout,
		MaxHeaderBytes:    DefaultMaxHeaderBytes - headerSlack,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// endpoint is one route of the API: a ServeMux pattern, the methods it
// answers and its handler.
type endpoint struct {
	pattern string
	methods []string
	h       http.HandlerFunc
}

var (
	read  = []string{http.MethodGet, http.MethodHead}
	write = []string{http.MethodPut, http.MethodPost}
)

// endpoints is the one table of bc-serve's routes (see the README's table).
func (s *Server) endpoints() []endpoint {
	return []endpoint{
		{"/add", write, s.serveAdd},
		{"/chain", read, s.needChain(s.serveChain)},
		{"/neighbours", read, s.serveNeighbours},
		{"/neighbours/{addr...}", []string{http.MethodDelete}, s.serveRemoveNeighbour},
		{"/data", read, s.serveData},
		{"/data/{id...}", read, s.serveStatus},
		{"/health", read, s.serveHealth},
		{"/blocks", read, s.needChain(s.serveBlocks)},
		{"/blocks/{ref...}", read, s.needChain(s.serveBlock)},
		{"/announce", []string{http.MethodPost}, s.serveAnnounce},
		{"/check", []string{http.MethodPost}, s.needChain(s.serveCheck)},
		{"/reorgs", read, s.serveReorgs},
		{"/strategies", read, s.serveStrategies},
		{"/origins/{hash}", read, s.serveOrigin},
		{"/events", []string{http.MethodGet}, s.serveEvents},
		{"/metrics", read, s.metrics.serve},
		{"/{$}", read, s.serveUI},
		{"/index.html", read, s.serveUI},
		{"/ui/", read, s.serveUI},
	}
}

// newMux routes the endpoints; anything else gets the seed's 404.
func (s *Server) newMux(endpoints []endpoint) *http.ServeMux {
	mux := http.NewServeMux()
	for _, e := range endpoints {
		mux.Handle(e.pattern, s.methods(e.h, e.methods...))
	}
	mux.HandleFunc("/", s.notFound)
	return mux
}

// notFound is the seed's answer, with its wording: the path without its
// leading slash, as the seed's Flask route gave it.
func (s *Server) notFound(w http.ResponseWriter, r *http.Request) {
	s.reply(w, http.StatusNotFound, map[string]string{"message": fmt.Sprintf("'%s' is not a valid endpoint!", strings.TrimPrefix(r.URL.Path, "/")),
		"error": "no endpoint " + r.URL.Path + " (the README lists them)"})
}

// ServeHTTP routes a request, with access logging and metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.route(s.mux, w, r) }

// seedHandler answers on the seed's port (--seed-listen).
type seedHandler struct{ s *Server }

func (h seedHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) { h.s.route(h.s.seedMux, w, r) }

// route hands a request to mux, with the checks common to every route,
// access logging and metrics.
func (s *Server) route(mux *http.ServeMux, w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	rw := &statusWriter{ResponseWriter: w, rc: http.NewResponseController(w), start: start, code: http.StatusOK}
	defer func() {
		rt := r.Pattern // the route, for metrics: set by the mux
		if rt == "" || rt == "/" {
			rt = "unknown"
		}
		s.metrics.observe(rt, r.Method, rw.code, time.Since(start), rw.n)
		s.log.Debug("request", "method", r.Method, "path", r.URL.Path, "status", rw.code, "bytes", rw.n,
			"remote", r.RemoteAddr, "duration", time.Since(start).String())
	}()
	if len(r.URL.RawQuery) > s.opts.MaxQueryBytes {
		s.fail(rw, r, http.StatusRequestURITooLong, fmt.Sprintf("query is longer than %d bytes (max_query_bytes)", s.opts.MaxQueryBytes), "")
		return
	}
	// ServeMux would redirect a path that is not clean; the seed's 404 is
	// the answer here, as for any path that is no endpoint.
	if p := r.URL.Path; !cleanPath(p) {
		if strings.HasPrefix(p, "/neighbours/") {
			s.fail(rw, r, http.StatusBadRequest, "give the neighbour as host:port or host (the http:// form does not fit in a path)", "")
			return
		}
		s.notFound(rw, r)
		return
	}
	mux.ServeHTTP(rw, r)
}

// cleanPath reports whether ServeMux would take p as it is (and not
// redirect it): absolute, without empty, "." or ".." segments; a trailing
// slash is allowed.
func cleanPath(p string) bool {
	c := path.Clean(p)
	return strings.HasPrefix(p, "/") && (c == p || c != "/" && c+"/" == p)
}

// methods returns h for the allowed methods, and a 405 for the others.
func (s *Server) methods(h http.HandlerFunc, allowed ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if slices.Contains(allowed, r.Method) {
			h(w, r)
			return
		}
		w.Header().Set("Allow", strings.Join(allowed, ", "))
		s.fail(w, r, http.StatusMethodNotAllowed, fmt.Sprintf("method %s is not allowed on %s (use %s)", r.Method, r.URL.Path, strings.Join(allowed, " or ")), "")
	}
}

// needChain answers 503 until the chain exists.
func (s *Server) needChain(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if s.node.chainView() == nil {
			w.Header().Set("Retry-After", "2")
			s.fail(w, r, http.StatusServiceUnavailable, "no chain in this node's directory yet", "")
			return
		}
		h(w, r)
	}
}

// reply writes v as JSON with status code.
func (s *Server) reply(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false) // keeps embedded blocks canonical
	_ = enc.Encode(v)
}

// fail answers an error: {"message": message (the seed's wording where
// it has one, else the detail), "error": detail}.
func (s *Server) fail(w http.ResponseWriter, r *http.Request, code int, detail, message string) {
	if message == "" {
		message = detail
	}
	s.reply(w, code, map[string]string{"message": message, "error": detail})
}

// Every write to a client has a deadline: writeGrace plus the time to send
// it at minWriteRate, so a client that stops reading is cut off within
// writeGrace. An answer as a whole must also go out at minWriteRate on
// average (plus writeGrace), so a client that reads a trickle is cut off
// too. Event streams, which have no size, have only the first deadline.
// No goroutine waits on a client longer than that.
const (
	writeGrace   = 10 * time.Second
	minWriteRate = 32 << 10 // bytes per second
)

// sendTime is how long n bytes may take at minWriteRate.
func sendTime(n int64) time.Duration { return time.Duration(n) * time.Second / minWriteRate }

// statusWriter records the status code and size of a response, and gives
// each write its deadline.
type statusWriter struct {
	http.ResponseWriter
	rc     *http.ResponseController
	start  time.Time
	stream bool // an event stream: deadlines per write, not per answer
	code   int
	n      int64
	wrote  bool
}

// deadline returns the write deadline for p.
func (w *statusWriter) deadline(p []byte) time.Time {
	now := time.Now()
	d := now.Add(writeGrace + sendTime(int64(len(p))))
	if w.stream {
		return d
	}
	answer := later(w.start.Add(writeGrace+sendTime(w.n+int64(len(p)))), now.Add(time.Second))
	if answer.Before(d) {
		return answer
	}
	return d
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.code, w.wrote = code, true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	_ = w.rc.SetWriteDeadline(w.deadline(p)) // unsupported by tests' recorders, which have no network
	n, err := w.ResponseWriter.Write(p)
	w.n += int64(n)
	return n, err
}

// Unwrap lets http.ResponseController reach the real writer (Flush,
// deadlines).
func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// /add answers with the seed's "message" and "more_information" (its
// CLI prints them), and bc's "id", "status" and "error".
const (
	msgAdded   = "Message added!"
	msgNoAdded = "No Message added!"
	moreAdded  = "Will be mined in a future block."
)

// failAdd refuses a message, with the seed's words and the reason.
func (s *Server) failAdd(w http.ResponseWriter, r *http.Request, code int, detail string) {
	s.reply(w, code, map[string]string{"message": msgNoAdded, "more_information": detail, "error": detail})
}

// serveAdd stores a message: PUT or POST, the message in the query
// (?message=, as the seed), a JSON body {"message": ..., "id": ...} or a
// form. It answers 200 only once the message is durably pending.
func (s *Server) serveAdd(w http.ResponseWriter, r *http.Request) {
	text, id, err := s.parseAdd(w, r)
	if err != nil {
		code := http.StatusBadRequest
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			code = http.StatusRequestEntityTooLarge
			err = fmt.Errorf("request body is larger than %d bytes (max_body_bytes)", s.opts.MaxBodyBytes)
		}
		s.failAdd(w, r, code, err.Error())
		return
	}
	if err := chain.CheckNewMessage(text); err != nil {
		code := http.StatusBadRequest
		if len(text) > chain.MaxMessageBytes {
			code = http.StatusRequestEntityTooLarge
			err = fmt.Errorf("message is longer than %d bytes (max_message_bytes)", chain.MaxMessageBytes)
		}
		s.failAdd(w, r, code, err.Error())
		return
	}
	if id == "" {
		id = chain.NewMessageID(text)
	} else if err := chain.CheckMessageID(id, text); err != nil {
		s.failAdd(w, r, http.StatusBadRequest, "id "+truncate(id, 40)+": "+err.Error())
		return
	} else if st, ok := s.node.messageStatus(id); ok {
		// A retry of a message we already have (its id is bound to its
		// text, so it is the same message): same answer, nothing stored.
		s.reply(w, http.StatusOK, map[string]any{"message": msgAdded, "more_information": moreAdded, "id": id, "status": st.Status, "duplicate": true})
		return
	}
	if c := s.node.pendingCounts(); c.Messages >= s.opts.MaxPending || c.Bytes+len(text) > s.opts.MaxPendingBytes {
		w.Header().Set("Retry-After", "10")
		s.failAdd(w, r, http.StatusServiceUnavailable, fmt.Sprintf("too many pending messages (%d messages, %d bytes; max_pending %d, max_pending_bytes %d)",
			c.Messages, c.Bytes, s.opts.MaxPending, s.opts.MaxPendingBytes))
		return
	}
	e := store.PendingEntry{ID: id, Message: text, Received: uint64(time.Now().UnixMilli())}
	if err := s.adds.add(r.Context(), e); err != nil {
		if r.Context().Err() != nil {
			// The client went away before its message was durable (it
			// may still be stored, as with any lost answer): not an error
			// of this node.
			s.log.Debug("a client left before its message was stored", "error", err)
			return
		}
		s.log.Error("could not store a message", "error", err)
		s.failAdd(w, r, http.StatusServiceUnavailable, "could not store the message: "+err.Error())
		return
	}
	s.metrics.added.Inc()
	s.reply(w, http.StatusOK, map[string]any{"message": msgAdded, "more_information": moreAdded, "id": id, "status": "pending"})
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

// addFields are what /add takes, from the query, a form or a JSON body.
type addFields struct {
	Message *string `json:"message"`
	ID      string  `json:"id,omitempty"`
}

// parseAdd reads the message and optional id of an /add: from the query
// (?message=, as the seed), else from the body, a JSON object or a form.
// One strictness for all three: a field given twice, an unknown field,
// text that is not UTF-8, trailing data and bodies over max_body_bytes
// are refused, never guessed at.
func (s *Server) parseAdd(w http.ResponseWriter, r *http.Request) (text, id string, err error) {
	q, err := strictValues(r.URL.RawQuery)
	if err != nil {
		return "", "", fmt.Errorf("query: %w", err)
	}
	if q.Message != nil || q.ID != "" {
		return fieldsOf(q)
	}
	raw, err := io.ReadAll(http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes))
	if err != nil {
		return "", "", err
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/x-www-form-urlencoded":
		f, err := strictValues(string(raw))
		if err != nil {
			return "", "", fmt.Errorf("form: %w", err)
		}
		return fieldsOf(f)
	case "application/json", "":
		if len(bytes.TrimSpace(raw)) == 0 {
			return "", "", errors.New("missing parameter message (in the query, a JSON body or a form)")
		}
		var f addFields
		if err := jsonv2.Unmarshal(raw, &f, jsonv2.RejectUnknownMembers(true)); err != nil {
			return "", "", fmt.Errorf("body is not a JSON object {\"message\": ..., \"id\": ...}: %v", err)
		}
		return fieldsOf(f)
	default:
		return "", "", fmt.Errorf("unsupported content type %q (use a query parameter, JSON or a form)", ct)
	}
}

// strictValues parses a query string or form body with /add's fields,
// each at most once, in UTF-8.
func strictValues(raw string) (addFields, error) {
	var f addFields
	vals, err := url.ParseQuery(raw)
	if err != nil {
		return f, err
	}
	for k, vs := range vals {
		if len(vs) > 1 {
			return f, fmt.Errorf("parameter %q is given %d times", k, len(vs))
		}
		if !utf8.ValidString(vs[0]) {
			return f, fmt.Errorf("parameter %q is not valid UTF-8", k)
		}
		switch k {
		case "message":
			f.Message = &vs[0]
		case "id":
			f.ID = vs[0]
		default:
			return f, fmt.Errorf("unknown parameter %q (want message and optionally id)", k)
		}
	}
	return f, nil
}

func fieldsOf(f addFields) (text, id string, err error) {
	if f.Message == nil {
		return "", "", errors.New("missing parameter message")
	}
	return *f.Message, f.ID, nil
}

// serveChain streams {"chain": [blocks...], "length": n}, reading the
// blocks from the file chunk by chunk: memory does not grow with the chain,
// and no lock is held while a chunk is written to the client.
// beginChain starts an answer with the whole chain (ours and the seed's
// dialect): the view to stream and its tip, or ok false when the answer
// is complete already (a tampered chain's 503, or a HEAD request).
func (s *Server) beginChain(w http.ResponseWriter, r *http.Request) (v *store.View, tip uint64, ok bool) {
	v = s.node.chainView()
	if err := v.Problem(); errors.Is(err, store.ErrTampered) {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return nil, 0, false
	}
	w.Header().Set("Content-Type", "application/json")
	return v, v.Height(), r.Method != http.MethodHead
}

func (s *Server) serveChain(w http.ResponseWriter, r *http.Request) {
	v, tip, ok := s.beginChain(w, r)
	if !ok {
		return
	}
	_, _ = io.WriteString(w, `{"chain":[`)
	err := v.Lines(0, tip, func(i uint64, line []byte) error {
		if i > 0 {
			if _, err := io.WriteString(w, ",\n"); err != nil {
				return err
			}
		}
		_, err := w.Write(line)
		return err
	})
	if err != nil {
		return // the client went away or is too slow, or the file was replaced: cut short
	}
	fmt.Fprintf(w, `],"length":%d}`+"\n", tip+1)
}

func (s *Server) serveNeighbours(w http.ResponseWriter, r *http.Request) {
	ns := s.node.neighbours()
	s.reply(w, http.StatusOK, map[string]any{"neighbours": ns, "length": len(ns)})
}

// isLoopback reports whether the request comes from this machine.
func isLoopback(r *http.Request) bool {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return false
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackHost reports whether a Host header (or an Origin's host) names
// this machine: localhost or a loopback IP, with any port.
func loopbackHost(hostport string) bool {
	host := hostport
	if h, _, err := net.SplitHostPort(hostport); err == nil {
		host = h
	}
	host = strings.TrimSuffix(strings.TrimPrefix(host, "["), "]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// local reports whether r is a request of this machine's own user, and not
// of a web page in a browser on it: from loopback, addressed to a loopback
// Host (a DNS-rebound name fails this), and from a loopback Origin when the
// browser sends one (a cross-site request fails this).
func local(r *http.Request) bool {
	if !isLoopback(r) || !loopbackHost(r.Host) {
		return false
	}
	origin := r.Header.Get("Origin")
	if origin == "" {
		return true
	}
	u, err := url.Parse(origin)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && loopbackHost(u.Host)
}

// authorized reports whether r may use admin endpoints: a local request
// (see local), or one with the node's token (Authorization: Bearer <token>).
func (s *Server) authorized(r *http.Request) bool {
	if local(r) {
		return true
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	return ok && constantTimeEqual(tok, s.token)
}

// serveRemoveNeighbour is DELETE /neighbours/<addr>: the seed's wished-for
// neighbour removal. The address stays out for an hour.
func (s *Server) serveRemoveNeighbour(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(r) {
		s.fail(w, r, http.StatusForbidden, "removing a neighbour needs a request from this machine or the admin token (Authorization: Bearer <token from admin.token>)", "")
		return
	}
	raw := r.PathValue("addr")
	a, err := node.ParseAddr(raw)
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, err.Error(), "")
		return
	}
	found := false
	err = node.UpdateBook(r.Context(), s.dir, func(b *node.Book) error {
		found = b.Remove(a, time.Now())
		return nil
	})
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, "could not update the neighbour list: "+err.Error(), "")
		return
	}
	s.node.refreshBook()
	if !found {
		s.fail(w, r, http.StatusNotFound, "'"+string(a)+"' is not a neighbour (it is kept out for an hour anyway)", "")
		return
	}
	s.reply(w, http.StatusOK, map[string]string{"message": "Neighbour removed!", "neighbour": string(a)})
}

// maxDataList bounds the entries /data lists (the count is always exact).
const maxDataList = 10_000

func (s *Server) serveData(w http.ResponseWriter, r *http.Request) {
	limit := maxDataList
	if q := r.URL.Query(); q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 || n > maxDataList {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("limit must be 1 to %d", maxDataList), "")
			return
		}
		limit = n
	}
	es, total := s.node.pendingList(limit)
	s.reply(w, http.StatusOK, map[string]any{"data": es, "length": total, "truncated": total > len(es)})
}

func (s *Server) serveStatus(w http.ResponseWriter, r *http.Request) {
	id := r.PathValue("id")
	if !chain.ValidID(id) {
		s.fail(w, r, http.StatusBadRequest, "id must be a lowercase UUID (8-4-4-4-12 hex digits)", "")
		return
	}
	st, ok := s.node.messageStatus(id)
	if !ok {
		s.reply(w, http.StatusNotFound, map[string]string{"message": "unknown message id " + id, "error": "unknown message id " + id, "id": id, "status": "unknown"})
		return
	}
	s.reply(w, http.StatusOK, st)
}

func (s *Server) serveHealth(w http.ResponseWriter, r *http.Request) {
	h := s.health()
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	s.reply(w, code, h)
}

// health is /health's answer (also the first event of /events).
func (s *Server) health() Health {
	h := s.node.health()
	h.Version, h.NodeID = s.opts.Version, s.nodeID
	return h
}

// blocksPage is the /blocks answer.
type blocksPage struct {
	Blocks  []json.RawMessage `json:"blocks"`
	Tip     uint64            `json:"tip"`
	TipHash chain.Hash        `json:"tip_hash"`
	Genesis chain.Hash        `json:"genesis"`
	More    bool              `json:"more"`
}

// serveBlocks answers one page of blocks: ?from=H gives the blocks after
// height H (oldest first), ?before=H the page of blocks just before H; limit
// sets the page size. Cost depends on the page, not the chain length.
func (s *Server) serveBlocks(w http.ResponseWriter, r *http.Request) {
	v := s.node.chainView()
	q := r.URL.Query()
	limit := DefaultPageBlocks
	if q.Has("limit") {
		n, err := strconv.Atoi(q.Get("limit"))
		if err != nil || n < 1 {
			s.fail(w, r, http.StatusBadRequest, "limit must be a positive integer", "")
			return
		}
		if n > s.opts.MaxPageBlocks {
			s.fail(w, r, http.StatusBadRequest, fmt.Sprintf("limit %d is larger than %d (max_page_blocks)", n, s.opts.MaxPageBlocks), "")
			return
		}
		limit = n
	}
	tip := v.Tip()
	var first, last uint64
	switch {
	case q.Has("from") && q.Has("before"):
		s.fail(w, r, http.StatusBadRequest, "give from or before, not both", "")
		return
	case q.Has("before"):
		before, err := strconv.ParseUint(q.Get("before"), 10, 64)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "before must be a block height", "")
			return
		}
		before = min(before, tip.Index+1)
		if before == 0 {
			s.reply(w, http.StatusOK, blocksPage{Blocks: []json.RawMessage{}, Tip: tip.Index, TipHash: tip.Hash, Genesis: v.Genesis()})
			return
		}
		last = before - 1
		first = last + 1 - min(uint64(limit), last+1)
	default:
		from := int64(-1)
		if q.Has("from") {
			f, err := strconv.ParseUint(q.Get("from"), 10, 63)
			if err != nil {
				s.fail(w, r, http.StatusBadRequest, "from must be a block height", "")
				return
			}
			from = int64(f)
		}
		if uint64(from+1) > tip.Index {
			s.reply(w, http.StatusOK, blocksPage{Blocks: []json.RawMessage{}, Tip: tip.Index, TipHash: tip.Hash, Genesis: v.Genesis()})
			return
		}
		first = uint64(from + 1)
		last = min(first+uint64(limit)-1, tip.Index)
	}
	page := blocksPage{Blocks: make([]json.RawMessage, 0, last-first+1), Tip: tip.Index, TipHash: tip.Hash, Genesis: v.Genesis()}
	size := 0
	err := v.Lines(first, last, func(i uint64, line []byte) error {
		if size+len(line) > s.opts.MaxPageBytes && len(page.Blocks) > 0 {
			return errPageFull
		}
		size += len(line)
		page.Blocks = append(page.Blocks, append(json.RawMessage(nil), line...))
		return nil
	})
	if err != nil && !errors.Is(err, errPageFull) {
		s.fail(w, r, http.StatusServiceUnavailable, "read blocks: "+err.Error(), "")
		return
	}
	page.More = first+uint64(len(page.Blocks))-1 < tip.Index && !q.Has("before") || q.Has("before") && first > 0
	s.reply(w, http.StatusOK, page)
}

var errPageFull = errors.New("page full")

// serveBlock answers /blocks/<index> or /blocks/<hash>.
func (s *Server) serveBlock(w http.ResponseWriter, r *http.Request) {
	v := s.node.chainView()
	ref := r.PathValue("ref")
	var i uint64
	if len(ref) == 64 {
		h, err := chain.ParseHash(ref)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, err.Error(), "")
			return
		}
		idx, ok := v.IndexOf(h)
		if !ok {
			s.fail(w, r, http.StatusNotFound, "no block with hash "+ref, "")
			return
		}
		i = idx
	} else {
		n, err := strconv.ParseUint(ref, 10, 63)
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "want a block height or a 64-digit hash", "")
			return
		}
		if n > v.Height() {
			s.fail(w, r, http.StatusNotFound, fmt.Sprintf("no block %d (the tip is %d)", n, v.Height()), "")
			return
		}
		i = n
	}
	line, err := v.Line(i)
	if err != nil {
		s.fail(w, r, http.StatusServiceUnavailable, err.Error(), "")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(append(line, '\n'))
}
