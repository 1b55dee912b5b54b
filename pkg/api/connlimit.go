package api

import (
	"net"
	"sync"
)

// Connection limits: every open connection costs a goroutine and its
// buffers whatever it sends, so one client IP may hold at most
// DefaultMaxConnsPerIP connections and the server at most DefaultMaxConns.
// A connection beyond either is closed as soon as it is accepted.
const (
	DefaultMaxConnsPerIP = 256
	DefaultMaxConns      = 2048
)

// connLimits counts the open connections of every listener of a server
// (bc's port and the seed's share one budget).
type connLimits struct {
	perIP, total int

	mu   sync.Mutex
	open int
	byIP map[string]int
	shed uint64 // connections closed for a limit
}

func newConnLimits(perIP, total int) *connLimits {
	return &connLimits{perIP: perIP, total: total, byIP: map[string]int{}}
}

// wrap returns l with the limits applied to what it accepts.
func (c *connLimits) wrap(l net.Listener) net.Listener { return &limitListener{Listener: l, c: c} }

func (c *connLimits) admit(ip string) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.open >= c.total || c.byIP[ip] >= c.perIP {
		c.shed++
		return false
	}
	c.open++
	c.byIP[ip]++
	return true
}

func (c *connLimits) release(ip string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.open--
	if c.byIP[ip]--; c.byIP[ip] <= 0 {
		delete(c.byIP, ip)
	}
}

// stats returns the open connections and how many were shed so far.
func (c *connLimits) stats() (open int, shed uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.open, c.shed
}

// limitListener closes, as soon as they are accepted, the connections
// beyond the limits.
type limitListener struct {
	net.Listener
	c *connLimits
}

// Accept returns the next connection within the limits.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		conn, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(conn)
		if l.c.admit(ip) {
			return &limitedConn{Conn: conn, c: l.c, ip: ip}, nil
		}
		_ = conn.Close()
	}
}

func remoteIP(c net.Conn) string {
	if a, ok := c.RemoteAddr().(*net.TCPAddr); ok {
		return a.IP.String()
	}
	return c.RemoteAddr().String()
}

// limitedConn gives its slot back once when closed.
type limitedConn struct {
	net.Conn
	c    *connLimits
	ip   string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.c.release(c.ip) })
	return err
}
