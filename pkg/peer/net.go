package peer

import (
	"github.com/bc-chain/bc/pkg/node"

	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// Scope is how private an address is.
type Scope int

// Scopes, from most to least private.
const (
	ScopeLoopback Scope = iota
	ScopePrivate
	ScopePublic
	// ScopeConfigured marks addresses the operator gave (--peers): they
	// may be dialled whatever they resolve to, special addresses excepted.
	ScopeConfigured Scope = -1
)

// special reports addresses that are never dialled: unspecified, link-local
// (such as the cloud metadata address 169.254.169.254), multicast and
// broadcast.
func special(ip net.IP) bool {
	return ip.IsUnspecified() || ip.IsLinkLocalUnicast() || ip.IsLinkLocalMulticast() ||
		ip.IsInterfaceLocalMulticast() || ip.IsMulticast() || ip.Equal(net.IPv4bcast)
}

// ScopeOf classifies an IP.
func ScopeOf(ip net.IP) Scope {
	switch {
	case ip.IsLoopback():
		return ScopeLoopback
	case ip.IsPrivate():
		return ScopePrivate
	}
	return ScopePublic
}

// mayDial says whether an address learned under trust may be dialled at ip:
// never a special address; a loopback one only if the relaying peer was on
// loopback; a private one only if it was loopback or private.
func mayDial(trust Scope, ip net.IP) bool {
	if special(ip) {
		return false
	}
	if trust == ScopeConfigured {
		return true
	}
	return ScopeOf(ip) >= trust
}

type trustKey struct{}

// withTrust attaches the dial policy of the address being contacted.
func withTrust(ctx context.Context, trust Scope) context.Context {
	return context.WithValue(ctx, trustKey{}, trust)
}

// ErrRefusedAddress is returned when an address resolves only to IPs the
// policy forbids.
var ErrRefusedAddress = errors.New("address not allowed")

// Client is the HTTP client bc-gossip talks to peers with: it checks the
// resolved IP of every connection against the address's trust, never
// follows redirects, and reads every answer through a size limit and a
// deadline.
type Client struct {
	http *http.Client
	// Timeout bounds each request, answer included.
	Timeout time.Duration
}

// NewClient returns a peer client.
func NewClient(timeout time.Duration) *Client {
	d := &net.Dialer{Timeout: 3 * time.Second}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			host, port, err := net.SplitHostPort(addr)
			if err != nil {
				return nil, err
			}
			trust, ok := ctx.Value(trustKey{}).(Scope)
			if !ok {
				trust = ScopePublic
			}
			ips, err := net.DefaultResolver.LookupIP(ctx, "ip", host)
			if err != nil {
				return nil, err
			}
			for _, ip := range ips {
				if mayDial(trust, ip) {
					return d.DialContext(ctx, network, net.JoinHostPort(ip.String(), port))
				}
			}
			return nil, fmt.Errorf("%w: %s resolves to %v, not dialled for a %s address", ErrRefusedAddress, host, ips, trust)
		},
		MaxIdleConnsPerHost:   4,
		IdleConnTimeout:       60 * time.Second,
		ResponseHeaderTimeout: timeout,
		TLSHandshakeTimeout:   timeout,
		DisableCompression:    true,
	}
	return &Client{
		http: &http.Client{
			Transport:     tr,
			CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		},
		Timeout: timeout,
	}
}

// Close drops idle connections.
func (c *Client) Close() { c.http.CloseIdleConnections() }

// PeerError is an answer from a peer that is not what was asked for.
type PeerError struct {
	Addr node.Addr
	Op   string
	Code int
	Err  error
}

func (e *PeerError) Error() string {
	if e.Code != 0 {
		return fmt.Sprintf("peer %s: %s: status %d", e.Addr, e.Op, e.Code)
	}
	return fmt.Sprintf("peer %s: %s: %v", e.Addr, e.Op, e.Err)
}

func (e *PeerError) Unwrap() error { return e.Err }

var (
	// errTooLarge is returned when an answer exceeds its limit.
	errTooLarge = errors.New("answer larger than its limit")
	// errBadJSON marks an answer that is not the JSON asked for.
	errBadJSON = errors.New("bad JSON")
	// errNotBC marks a peer that answers, but not as a bc node does: the
	// seed's miner (404 to /health), a web server, another service.
	errNotBC = errors.New("not a bc node")
	// errNoChain marks a bc node that has no chain yet.
	errNoChain = errors.New("no chain yet")
)

// get fetches path from a, decodes at most limit bytes of JSON into v.
func (c *Client) get(ctx context.Context, a node.Addr, trust Scope, path string, limit int64, v any) error {
	return c.do(ctx, a, trust, http.MethodGet, path, nil, limit, v)
}

func (c *Client) do(ctx context.Context, a node.Addr, trust Scope, method, path string, body []byte, limit int64, v any) error {
	return c.doAccepting(ctx, a, trust, method, path, body, limit, v, 0)
}

// doAccepting is do, taking the answer of status also (besides 2xx) as one
// to decode: /health answers 503 with a body when a node is degraded.
func (c *Client) doAccepting(ctx context.Context, a node.Addr, trust Scope, method, path string, body []byte, limit int64, v any, also int) error {
	ctx, cancel := context.WithTimeout(withTrust(ctx, trust), c.Timeout)
	defer cancel()
	var rd io.Reader
	if body != nil {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(ctx, method, a.URL()+path, rd)
	if err != nil {
		return &PeerError{Addr: a, Op: path, Err: err}
	}
	req.Header.Set("Accept", "application/json")
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := c.http.Do(req)
	if err != nil {
		return &PeerError{Addr: a, Op: path, Err: err}
	}
	defer resp.Body.Close()
	if resp.StatusCode/100 != 2 && resp.StatusCode != also {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
		return &PeerError{Addr: a, Op: path, Code: resp.StatusCode}
	}
	if resp.ContentLength > limit {
		return &PeerError{Addr: a, Op: path, Err: fmt.Errorf("%w (%d > %d bytes)", errTooLarge, resp.ContentLength, limit)}
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, limit+1))
	if err != nil {
		return &PeerError{Addr: a, Op: path, Err: err}
	}
	if int64(len(raw)) > limit {
		return &PeerError{Addr: a, Op: path, Err: fmt.Errorf("%w (%d bytes)", errTooLarge, limit)}
	}
	if v == nil {
		return nil
	}
	if err := json.Unmarshal(raw, v); err != nil {
		return &PeerError{Addr: a, Op: path, Err: fmt.Errorf("%w: %w", errBadJSON, err)}
	}
	return nil
}

// Limits of peer answers.
const (
	maxHealthBytes     = 64 << 10
	maxNeighboursBytes = 256 << 10
	maxDataBytes       = 16 << 20
	maxBlocksBytes     = 6 << 20
)

// remoteHealth is the part of /health gossip needs.
type remoteHealth struct {
	Status  string `json:"status"`
	Height  uint64 `json:"height"`
	Tip     string `json:"tip"`
	Genesis string `json:"genesis"`
	NodeID  string `json:"node_id"`
}

// remotePage is a /blocks answer.
type remotePage struct {
	Blocks  []json.RawMessage `json:"blocks"`
	Tip     uint64            `json:"tip"`
	TipHash string            `json:"tip_hash"`
	Genesis string            `json:"genesis"`
	More    bool              `json:"more"`
}

// health asks a peer for its /health. A degraded node (503) still
// answers with its tip, and is taken as it is; a node that answers
// otherwise than a bc node does is errNotBC.
func (c *Client) health(ctx context.Context, a node.Addr, trust Scope) (remoteHealth, error) {
	var h remoteHealth
	err := c.doAccepting(ctx, a, trust, http.MethodGet, "/health", nil, maxHealthBytes, &h, http.StatusServiceUnavailable)
	return classifyHealth(a, h, err)
}

// classifyHealth turns a /health answer into a node's health or the
// reason it is none.
func classifyHealth(a node.Addr, h remoteHealth, err error) (remoteHealth, error) {
	var pe *PeerError
	switch {
	case errors.As(err, &pe) && (pe.Code == http.StatusNotFound || pe.Code == http.StatusMethodNotAllowed):
		return h, &PeerError{Addr: a, Op: "/health", Err: fmt.Errorf("%w: it answers /health with %d (a seed node does)", errNotBC, pe.Code)}
	case errors.Is(err, errBadJSON):
		return h, &PeerError{Addr: a, Op: "/health", Err: fmt.Errorf("%w: its /health is not bc's JSON", errNotBC)}
	case err != nil:
		return h, err
	case h.Genesis == "" && h.Status == "starting":
		return h, &PeerError{Addr: a, Op: "/health", Err: errNoChain}
	case h.Genesis == "" || h.Tip == "":
		return h, &PeerError{Addr: a, Op: "/health", Err: fmt.Errorf("%w: its /health names no genesis and tip", errNotBC)}
	}
	return h, nil
}

func (c *Client) blocksFrom(ctx context.Context, a node.Addr, trust Scope, from uint64, limit int) (remotePage, error) {
	var p remotePage
	err := c.get(ctx, a, trust, "/blocks?from="+strconv.FormatUint(from, 10)+"&limit="+strconv.Itoa(limit), maxBlocksBytes, &p)
	return p, err
}

func (c *Client) blocksBefore(ctx context.Context, a node.Addr, trust Scope, before uint64, limit int) (remotePage, error) {
	var p remotePage
	err := c.get(ctx, a, trust, "/blocks?before="+strconv.FormatUint(before, 10)+"&limit="+strconv.Itoa(limit), maxBlocksBytes, &p)
	return p, err
}

// String is the name of a scope as the book records it (Known.Trust).
func (s Scope) String() string {
	switch s {
	case ScopeConfigured:
		return node.TrustConfigured
	case ScopeLoopback:
		return node.TrustLoopback
	case ScopePrivate:
		return node.TrustPrivate
	}
	return node.TrustPublic
}

// trustOf returns the dial trust of a in b (public when unknown).
func trustOf(b *node.Book, a node.Addr) Scope {
	if k := b.Lookup(a); k != nil {
		switch k.Trust {
		case node.TrustConfigured:
			return ScopeConfigured
		case node.TrustLoopback:
			return ScopeLoopback
		case node.TrustPrivate:
			return ScopePrivate
		}
	}
	return ScopePublic
}
