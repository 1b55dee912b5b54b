package api

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/store"
	"github.com/bc-chain/bc/pkg/strategy"
)

// FuzzHandlers sends arbitrary requests to every endpoint: bc-serve answers
// each without panicking, with a status it documents, and in JSON wherever
// it promises JSON.
func FuzzHandlers(f *testing.F) {
	dir := f.TempDir()
	b, err := chaintest.NewBuilder(strategy.Default{}, 4)
	if err != nil {
		f.Fatal(err)
	}
	if err := b.AddN(20, 2); err != nil {
		f.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, store.ChainFile), b.Bytes(), 0o640); err != nil {
		f.Fatal(err)
	}
	d, err := store.Open(dir, store.Options{})
	if err != nil {
		f.Fatal(err)
	}
	s, err := New(d, slog.New(slog.DiscardHandler), Options{})
	if err != nil {
		f.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	f.Cleanup(cancel)
	go s.adds.run(ctx)
	id := b.Blocks[3].Data[0].ID
	for _, c := range []struct{ method, target, ctype, body string }{
		{"PUT", "/add?message=hello", "", ""},
		{"POST", "/add", "application/json", `{"message":"x","id":"` + id + `"}`},
		{"POST", "/add", "application/x-www-form-urlencoded", "message=a%20b"},
		{"GET", "/chain", "", ""},
		{"GET", "/blocks?from=3&limit=5", "", ""},
		{"GET", "/blocks?before=9", "", ""},
		{"GET", "/blocks/" + b.Blocks[2].Hash.String(), "", ""},
		{"GET", "/data/" + id, "", ""},
		{"DELETE", "/neighbours/127.0.0.1:1", "", ""},
		{"POST", "/announce", "application/json", `{"hash":"` + strings.Repeat("a", 64) + `","height":99,"blocks":["{}"]}`},
		{"GET", "/health", "", ""},
		{"GET", "/ui/app.js", "", ""},
		{"GET", "/nope", "", ""},
		{"PATCH", "/add", "text/plain", "\x00\xff"},
	} {
		f.Add(c.method, c.target, c.ctype, []byte(c.body))
	}
	allowed := map[int]bool{200: true, 202: true, 400: true, 403: true, 404: true, 405: true, 409: true, 413: true, 414: true, 429: true, 431: true, 503: true}
	f.Fuzz(func(t *testing.T, method, target, ctype string, body []byte) {
		if strings.HasPrefix(target, "/events") || !strings.HasPrefix(target, "/") {
			return // streams until the client leaves; covered by TestEvents
		}
		rctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(rctx, method, "http://node"+target, bytes.NewReader(body))
		if err != nil {
			return
		}
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		req.RemoteAddr = "192.0.2.1:4444"
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if !allowed[rec.Code] {
			t.Fatalf("%s %s: status %d: %s", method, target, rec.Code, rec.Body.String())
		}
		ct := rec.Header().Get("Content-Type")
		if strings.HasPrefix(ct, "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("%s %s: invalid JSON: %q", method, target, rec.Body.String())
		}
		if rec.Code == http.StatusForbidden && method != http.MethodDelete {
			t.Fatalf("%s %s: 403", method, target)
		}
	})
}
