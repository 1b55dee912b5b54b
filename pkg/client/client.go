// Package client is bc-add and bc-get, the seed's `blockchain add` and
// `blockchain get`: small clients of a node's REST API.
package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/node"
)

// DefaultNode is the node the clients talk to unless told otherwise.
const DefaultNode = "localhost:12345"

// maxResponse bounds the answers the clients read into memory (the chain
// itself is streamed, not read).
const maxResponse = 64 << 20

// Client talks to one node.
type Client struct {
	base string
	http *http.Client
}

// New returns a client of the node at addr, given in any of the seed's
// address forms.
func New(addr string, timeout time.Duration) (*Client, error) {
	a, err := node.ParseAddr(addr)
	if err != nil {
		return nil, fmt.Errorf("--node: %w", err)
	}
	return &Client{base: a.URL(), http: &http.Client{Timeout: timeout}}, nil
}

// APIError is a non-2xx answer.
type APIError struct {
	Code    int
	Message string
	URL     string
	Body    []byte // the answer, at most 64 KiB
}

func (e *APIError) Error() string {
	return fmt.Sprintf("%s: %d %s: %s", e.URL, e.Code, http.StatusText(e.Code), e.Message)
}

// ExitCode maps an error of this package to bc's table: refused by the node
// (4xx) is 1, unreachable or failing (5xx, network) is 2.
func ExitCode(err error) int {
	var ae *APIError
	if errors.As(err, &ae) && ae.Code >= 400 && ae.Code < 500 {
		return cmdline.ExitFailed
	}
	return cmdline.ExitUsage
}

func wrap(err error) error {
	if err == nil {
		return nil
	}
	return &cmdline.ExitError{Code: ExitCode(err), Err: err}
}

// do sends a request and returns the response of a 2xx answer; other
// answers become *APIError with the node's message.
func (c *Client) do(ctx context.Context, method, path string, body io.Reader, ctype string) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, body)
	if err != nil {
		return nil, err
	}
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.http.Do(req)
	if err != nil {
		return nil, fmt.Errorf("cannot reach the node at %s: %w", c.base, unwrapURLError(err))
	}
	if resp.StatusCode/100 != 2 {
		defer resp.Body.Close()
		raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		var msg struct{ Message, Error string }
		text := strings.TrimSpace(string(raw))
		if json.Unmarshal(raw, &msg) == nil && (msg.Message != "" || msg.Error != "") {
			text = msg.Message
			if msg.Error != "" && msg.Error != msg.Message {
				text += ": " + msg.Error
			}
		}
		return resp, &APIError{Code: resp.StatusCode, Message: text, URL: req.Method + " " + c.base + path, Body: raw}
	}
	return resp, nil
}

func unwrapURLError(err error) error {
	var ue interface{ Unwrap() error }
	if errors.As(err, &ue) {
		if inner := ue.Unwrap(); inner != nil {
			return inner
		}
	}
	return err
}

// getJSON decodes a bounded JSON answer into v.
func (c *Client) getJSON(ctx context.Context, path string, v any) error {
	resp, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return json.NewDecoder(io.LimitReader(resp.Body, maxResponse)).Decode(v)
}

// getRaw returns a bounded answer's bytes.
func (c *Client) getRaw(ctx context.Context, path string) ([]byte, error) {
	resp, err := c.do(ctx, http.MethodGet, path, nil, "")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxResponse+1))
	if err == nil && len(b) > maxResponse {
		return nil, fmt.Errorf("answer of %s is larger than %d bytes", path, maxResponse)
	}
	return b, err
}

// AddResult is /add's answer.
type AddResult struct {
	Message   string `json:"message"`
	ID        string `json:"id"`
	Status    string `json:"status"`
	Duplicate bool   `json:"duplicate"`
	// Seed is set when the node is a node of the seed (it refused the
	// POST, took the seed's PUT ?message= and gave no id).
	Seed bool `json:"-"`
}

// Add stores a message on the node (with a chosen id, if not empty: a retry
// with the same id is harmless).
func (c *Client) Add(ctx context.Context, message, id string) (AddResult, error) {
	var res AddResult
	body, _ := json.Marshal(map[string]string{"message": message, "id": id})
	if id == "" {
		body, _ = json.Marshal(map[string]string{"message": message})
	}
	resp, err := c.do(ctx, http.MethodPost, "/add", bytes.NewReader(body), "application/json")
	var ae *APIError
	if errors.As(err, &ae) && (ae.Code == http.StatusNotFound || ae.Code == http.StatusMethodNotAllowed) {
		// The seed's nodes take only PUT /add?message= (and answer a POST
		// with their 404); bc's take both.
		resp, err = c.do(ctx, http.MethodPut, "/add?message="+url.QueryEscape(message), nil, "")
	}
	if err != nil {
		return res, err
	}
	defer resp.Body.Close()
	if err := json.NewDecoder(io.LimitReader(resp.Body, 64<<10)).Decode(&res); err != nil {
		return res, fmt.Errorf("answer of /add: %w", err)
	}
	res.Seed = res.ID == ""
	return res, nil
}

// Status is /data/<id>'s answer.
type Status struct {
	ID            string  `json:"id"`
	Status        string  `json:"status"`
	Message       string  `json:"message"`
	Block         *uint64 `json:"block"`
	BlockHash     string  `json:"block_hash"`
	Confirmations uint64  `json:"confirmations"`
}

// MessageStatus asks where a message is.
func (c *Client) MessageStatus(ctx context.Context, id string) (Status, error) {
	var st Status
	return st, c.getJSON(ctx, "/data/"+id, &st)
}
