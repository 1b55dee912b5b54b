package node

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
)

// DefaultPort is the seed's port.
const DefaultPort = 12345

// Addr is a node address in its canonical form, "host:port", with
// "localhost" spelled 127.0.0.1.
type Addr string

// ParseAddr accepts the seed's forms: "host:port", "host" (default port),
// "http://host:port" and "http://host", with "localhost" meaning 127.0.0.1.
// IPv6 hosts are written in brackets.
func ParseAddr(s string) (Addr, error) {
	in := strings.TrimSpace(s)
	if in == "" {
		return "", errors.New("empty address")
	}
	if len(in) > 300 {
		return "", fmt.Errorf("address %.40q… is too long", in)
	}
	hostport := in
	if strings.Contains(in, "://") {
		u, err := url.Parse(in)
		if err != nil {
			return "", fmt.Errorf("address %q: %w", in, err)
		}
		if u.Scheme != "http" {
			return "", fmt.Errorf("address %q: only http:// is supported", in)
		}
		if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.User != nil || u.Fragment != "" {
			return "", fmt.Errorf("address %q: want http://host:port without path, query or user", in)
		}
		hostport = u.Host
	}
	host, portStr, err := net.SplitHostPort(hostport)
	if err != nil {
		// No port: the whole thing is the host.
		host, portStr = strings.TrimSuffix(strings.TrimPrefix(hostport, "["), "]"), strconv.Itoa(DefaultPort)
	}
	port, err := strconv.Atoi(portStr)
	if err != nil || port < 1 || port > 65535 {
		return "", fmt.Errorf("address %q: port must be 1 to 65535", in)
	}
	if host == "" {
		return "", fmt.Errorf("address %q: no host", in)
	}
	if strings.EqualFold(host, "localhost") {
		host = "127.0.0.1"
	}
	if ip := net.ParseIP(host); ip != nil {
		host = ip.String()
	} else if !validHostname(host) {
		return "", fmt.Errorf("address %q: %q is not a host name or IP address", in, host)
	}
	return Addr(net.JoinHostPort(strings.ToLower(host), strconv.Itoa(port))), nil
}

// validHostname checks RFC 1123 host name syntax.
func validHostname(h string) bool {
	if len(h) > 253 {
		return false
	}
	for _, label := range strings.Split(h, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

// ParseList parses a comma-separated list of addresses, dropping repeats.
func ParseList(s string) ([]Addr, error) {
	var out []Addr
	seen := map[Addr]bool{}
	for _, part := range strings.Split(s, ",") {
		if strings.TrimSpace(part) == "" {
			continue
		}
		a, err := ParseAddr(part)
		if err != nil {
			return nil, err
		}
		if !seen[a] {
			seen[a] = true
			out = append(out, a)
		}
	}
	return out, nil
}

// URL returns the base URL of the node, http://host:port.
func (a Addr) URL() string { return "http://" + string(a) }

// Host returns the host part.
func (a Addr) Host() string {
	h, _, _ := net.SplitHostPort(string(a))
	return h
}

// Port returns the port.
func (a Addr) Port() int {
	_, p, _ := net.SplitHostPort(string(a))
	n, _ := strconv.Atoi(p)
	return n
}
