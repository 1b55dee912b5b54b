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

// limitListener wraps a listener with the connection limits.
type limitListener struct {
	net.Listener
	perIP, total int

	mu   sync.Mutex
	open int
	byIP map[string]int
	shed uint64 // connections closed for a limit
}

func newLimitListener(l net.Listener, perIP, total int) *limitListener {
	return &limitListener{Listener: l, perIP: perIP, total: total, byIP: map[string]int{}}
}

// Accept returns the next connection within the limits, closing those
// beyond them.
func (l *limitListener) Accept() (net.Conn, error) {
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		ip := remoteIP(c)
		if l.admit(ip) {
			return &limitedConn{Conn: c, l: l, ip: ip}, nil
		}
		_ = c.Close()
	}
}

func (l *limitListener) admit(ip string) bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.open >= l.total || l.byIP[ip] >= l.perIP {
		l.shed++
		return false
	}
	l.open++
	l.byIP[ip]++
	return true
}

func (l *limitListener) release(ip string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.open--
	if l.byIP[ip]--; l.byIP[ip] <= 0 {
		delete(l.byIP, ip)
	}
}

// stats returns the open connections and how many were shed so far.
func (l *limitListener) stats() (open int, shed uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.open, l.shed
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
	l    *limitListener
	ip   string
	once sync.Once
}

func (c *limitedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() { c.l.release(c.ip) })
	return err
}
