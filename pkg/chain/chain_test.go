package chain

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"
)

func defaultParams() Params {
	return Params{Version: FormatVersion, Network: "bc", Strategy: "default", Difficulty: 24}
}

// The genesis of the default parameters, pinned byte for byte: any change to
// the format or the hashing shows up here first.
func TestGenesisPinned(t *testing.T) {
	g, err := Genesis(defaultParams())
	if err != nil {
		t.Fatal(err)
	}
	const wantLine = `{"index":0,"timestamp":1581206400000,"params":{"version":2,"network":"bc","strategy":"default","difficulty":24,"options":{}},"data":[{"id":"00000000-0000-0000-0000-000000000000","message":"This is the workload of the very first Block in this chain!"}],"proof":0,"previous_hash":"0000000000000000000000000000000000000000000000000000000000000000","hash":"27e84e6dd46819e3d9ca0e3494e053502a74b52694e4e748d9fa4d3d8323f5a8"}`
	if got := string(g.AppendJSON(nil)); got != wantLine {
		t.Fatalf("genesis line changed:\n got %s\nwant %s", got, wantLine)
	}
	// The body and header preimages, byte for byte, as documented.
	wantBody := "6263 2d64 617461 31" + // "bc-data1"
		"00000001" + // one message
		"00000024" + hex.EncodeToString([]byte(GenesisID)) +
		"0000003b" + hex.EncodeToString([]byte(GenesisMessage)) +
		"01" + "00000002" + // params: version 2
		"00000002" + hex.EncodeToString([]byte("bc")) +
		"00000007" + hex.EncodeToString([]byte("default")) +
		"00000018" + // difficulty 24
		"00000000" // no options
	body := AppendBody(nil, g.Data, g.Params)
	if got := hex.EncodeToString(body); got != strings.ReplaceAll(wantBody, " ", "") {
		t.Fatalf("body preimage:\n got %s\nwant %s", got, wantBody)
	}
	root := sha256.Sum256(body)
	wantHeader := hex.EncodeToString([]byte("bc-head1")) +
		"0000000000000000" + "00000170273eec00" + // index 0, timestamp 1581206400000
		strings.Repeat("00", 32) + hex.EncodeToString(root[:]) +
		"0000000000000000" // proof 0
	var header [HeaderSize]byte
	h := g.Header()
	h.Encode(&header)
	if got := hex.EncodeToString(header[:]); got != wantHeader {
		t.Fatalf("header preimage:\n got %s\nwant %s", got, wantHeader)
	}
	if Hash(sha256.Sum256(header[:])) != g.Hash {
		t.Fatal("hash is not SHA-256 of the header")
	}
	back, err := DecodeHeader(header[:])
	if err != nil || back != h {
		t.Fatalf("DecodeHeader = %+v, %v", back, err)
	}
}

func TestGenesisDependsOnParams(t *testing.T) {
	a, _ := Genesis(defaultParams())
	p := defaultParams()
	p.Difficulty = 25
	b, _ := Genesis(p)
	p = defaultParams()
	p.Options = []Option{{"n", 1024}}
	c, _ := Genesis(p)
	if a.Hash == b.Hash || a.Hash == c.Hash || b.Hash == c.Hash {
		t.Fatal("different params gave the same genesis")
	}
	a2, _ := Genesis(defaultParams())
	if a.Hash != a2.Hash {
		t.Fatal("genesis is not deterministic")
	}
	bad := defaultParams()
	bad.Strategy = "Bad Name"
	if _, err := Genesis(bad); err == nil {
		t.Fatal("accepted a bad strategy name")
	}
}

func sampleBlock() *Block {
	return &Block{
		Index: 7, Timestamp: 1700000000123,
		Data: []Message{
			{ID: "0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e11", Text: "plain"},
			{ID: "1b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e11", Text: "quote \" backslash \\ nl \n tab \t bell \a del \x7f <b>&amp; Grüße ☃ \u2028"},
		},
		Proof: 18446744073709551615, PrevHash: Hash{1, 2, 3},
	}
}

func TestRoundTrip(t *testing.T) {
	b := sampleBlock()
	b.Hash = b.ComputeHash()
	line := b.AppendJSON(nil)
	var got Block
	var p Parser
	if err := p.Parse(line, &got); err != nil {
		t.Fatalf("parse own output: %v\n%s", err, line)
	}
	if got.ComputeHash() != b.Hash || got.Hash != b.Hash || !bytes.Equal(got.AppendJSON(nil), line) {
		t.Fatalf("round trip changed the block:\n%s\n%s", line, got.AppendJSON(nil))
	}
	// Canonical output is also valid JSON meaning the same thing.
	var generic struct {
		Data []Message `json:"data"`
	}
	if err := json.Unmarshal(line, &generic); err != nil || generic.Data[1].Text != b.Data[1].Text {
		t.Fatalf("encoding/json reads %q, %v", generic.Data[1].Text, err)
	}
	var s Summary
	if err := p.ParseSummary(line, &s); err != nil || s.Header.Hash() != b.Hash || s.Messages != 2 {
		t.Fatalf("summary: %+v %v", s, err)
	}
	if !strings.Contains(string(line), `\u0007`) || !strings.Contains(string(line), "\x7f") || strings.Contains(string(line), `\u003c`) {
		t.Fatalf("escaping is not canonical: %s", line)
	}
}

// Every way a line can be non-canonical is refused, with a column.
func TestParseStrict(t *testing.T) {
	b := sampleBlock()
	b.Hash = b.ComputeHash()
	good := string(b.AppendJSON(nil))
	cases := []struct{ name, line, want string }{
		{"empty", ``, "want '{'"},
		{"whitespace", strings.Replace(good, `"index":7`, `"index": 7`, 1), "whitespace"},
		{"trailing space", good + " ", "after the block"},
		{"unknown field", strings.Replace(good, `{"index":7,`, `{"index":7,"foo":1,`, 1), `unknown field "foo"`},
		{"duplicate field", strings.Replace(good, `"timestamp":1700000000123`, `"index":7`, 1), `duplicate field "index"`},
		{"out of order", strings.Replace(good, `{"index":7,"timestamp":1700000000123`, `{"timestamp":1700000000123,"index":7`, 1), `field "timestamp" out of order`},
		{"missing field", strings.Replace(good, `,"hash":"`+b.Hash.String()+`"`, ``, 1), `missing field "hash"`},
		{"extra field at end", strings.Replace(good, `"}`+"", `","x":1}`, 1)[:0] + good[:len(good)-1] + `,"x":1}`, `unknown field "x"`},
		{"string for number", strings.Replace(good, `"index":7`, `"index":"7"`, 1), "want unsigned integer, got string"},
		{"negative", strings.Replace(good, `"index":7`, `"index":-7`, 1), "negative"},
		{"leading zero", strings.Replace(good, `"index":7`, `"index":07`, 1), "leading zero"},
		{"fraction", strings.Replace(good, `"index":7`, `"index":7.0`, 1), "fraction"},
		{"exponent", strings.Replace(good, `"index":7`, `"index":7e0`, 1), "exponent"},
		{"overflow", strings.Replace(good, `"proof":18446744073709551615`, `"proof":18446744073709551616`, 1), "larger than"},
		{"null", strings.Replace(good, `"proof":18446744073709551615`, `"proof":null`, 1), "got null"},
		{"uppercase hex", strings.Replace(good, b.Hash.String(), strings.ToUpper(b.Hash.String()), 1), "lowercase hex"},
		{"short hash", strings.Replace(good, b.Hash.String(), b.Hash.String()[:63], 1), "64 lowercase hex"},
		{"escaped slash", strings.Replace(good, `"plain"`, `"pl\/ain"`, 1), `non-canonical or invalid escape \/`},
		{"needless unicode escape", strings.Replace(good, `"plain"`, `"pl\u0061in"`, 1), "non-canonical escape"},
		{"uppercase unicode escape", strings.Replace(good, `\u0007`, `\u000A`, 1), "non-canonical escape"},
		{"long form of newline", strings.Replace(good, `\n`, `\u000a`, 1), "non-canonical escape"},
		{"raw control", strings.Replace(good, `"plain"`, "\"pl\x01ain\"", 1), "raw control character"},
		{"bad utf8", strings.Replace(good, `"plain"`, "\"pl\xffain\"", 1), "not valid UTF-8"},
		{"bad id", strings.Replace(good, `0b7c5e52-`, `0B7C5E52-`, 1), "lowercase UUID"},
		{"empty message", strings.Replace(good, `"plain"`, `""`, 1), "message is empty"},
		{"long message", strings.Replace(good, `"plain"`, `"`+strings.Repeat("x", MaxMessageBytes+1)+`"`, 1), "longer than 4096"},
		{"data not array", strings.Replace(good, `"data":[`, `"data":{`, 1), "want array"},
	}
	var p Parser
	var out Block
	for _, c := range cases {
		err := p.Parse([]byte(c.line), &out)
		var pe *ParseError
		if !errors.As(err, &pe) || !strings.Contains(err.Error(), c.want) || pe.Column < 1 {
			t.Errorf("%s: got %v, want a ParseError containing %q", c.name, err, c.want)
		}
	}
	long := []byte(`{"index":1,` + strings.Repeat(" ", MaxLineBytes))
	if err := p.Parse(long, &out); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Errorf("over-long line: %v", err)
	}
	many := &Block{Index: 1, Timestamp: 1}
	for i := 0; i <= MaxMessages; i++ {
		many.Data = append(many.Data, Message{ID: NewMessageID("m"), Text: "m"})
	}
	if err := p.Parse(many.AppendJSON(nil), &out); err == nil || !strings.Contains(err.Error(), "more than 1024") {
		t.Errorf("too many messages: %v", err)
	}
}

func TestParseParams(t *testing.T) {
	p := defaultParams()
	p.Options = []Option{{"n", 1024}, {"p", 1}, {"r", 8}}
	g, _ := Genesis(p)
	line := string(g.AppendJSON(nil))
	var parser Parser
	var out Block
	if err := parser.Parse([]byte(line), &out); err != nil || !out.Params.Equal(&p) {
		t.Fatalf("params round trip: %+v %v", out.Params, err)
	}
	for name, bad := range map[string]string{
		"unsorted options":  strings.Replace(line, `{"n":1024,"p":1,"r":8}`, `{"p":1,"n":1024,"r":8}`, 1),
		"duplicate option":  strings.Replace(line, `{"n":1024,"p":1,"r":8}`, `{"n":1024,"n":1,"r":8}`, 1),
		"bad strategy name": strings.Replace(line, `"strategy":"default"`, `"strategy":"De fault"`, 1),
	} {
		if err := parser.Parse([]byte(bad), &out); err == nil {
			t.Errorf("%s accepted", name)
		}
	}
}

func TestIDs(t *testing.T) {
	for i := 0; i < 100; i++ {
		id := NewMessageID("text")
		if !ValidID(id) || id[14] != '8' || !strings.Contains("89ab", id[19:20]) || !IDBound(id, "text") {
			t.Fatalf("NewMessageID gave %q", id)
		}
	}
	for _, bad := range []string{"", "x", "0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e1", "0b7c5e52x7a3d-4d55-9b0f-3c1c2f0a9e11", "0b7c5e52-7a3d-4d55-9b0f-3c1c2f0a9e1g"} {
		if ValidID(bad) {
			t.Errorf("ValidID(%q)", bad)
		}
	}
}

func TestLineReader(t *testing.T) {
	in := "a\nbb\n\nccc"
	r := NewLineReader(strings.NewReader(in))
	var got []string
	for {
		line, err := r.Next()
		if err == io.EOF {
			t.Fatal("missed the torn tail")
		}
		var tail *TailError
		if errors.As(err, &tail) {
			if tail.Line != 4 || tail.Offset != 6 || tail.Bytes != 3 || string(line) != "ccc" {
				t.Fatalf("tail = %+v %q", tail, line)
			}
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(line))
	}
	if strings.Join(got, "|") != "a|bb|" {
		t.Fatalf("lines %q", got)
	}
	r = NewLineReaderSize(strings.NewReader(strings.Repeat("x", 100)+"\n"), 10)
	if _, err := r.Next(); err == nil || !strings.Contains(err.Error(), "longer than 10") {
		t.Fatalf("long line: %v", err)
	}
}

func BenchmarkParseSummary(b *testing.B) {
	blk := sampleBlock()
	blk.Hash = blk.ComputeHash()
	line := blk.AppendJSON(nil)
	var p Parser
	var s Summary
	b.SetBytes(int64(len(line)))
	b.ReportAllocs()
	for b.Loop() {
		if err := p.ParseSummary(line, &s); err != nil {
			b.Fatal(err)
		}
	}
}

// Message ids, pinned: these vectors were computed from the format's text
// with another implementation (Python's hashlib), so they hold the spec,
// not this code, to account.
func TestMessageIDVectors(t *testing.T) {
	for _, v := range []struct {
		nonce, text, id string
	}{
		{"010203040506", "hello", "01020304-0506-8668-b925-357d69b2d8cf"},
		{"000000000000", "hello", "00000000-0000-8205-8643-b28aa45e98a7"},
		{"010203040506", "Hello", "01020304-0506-8bc4-96e0-90f40a9e2175"},
		{"ffffffffffff", "Grüße, \"world\"\n", "ffffffff-ffff-8a74-9472-00555c02a501"},
	} {
		raw, _ := hex.DecodeString(v.nonce)
		var nonce [6]byte
		copy(nonce[:], raw)
		if got := MessageID(nonce, v.text); got != v.id {
			t.Errorf("MessageID(%s, %q) = %s, want %s", v.nonce, v.text, got, v.id)
		}
		if !IDBound(v.id, v.text) || !IDBound([]byte(v.id), []byte(v.text)) {
			t.Errorf("IDBound(%s, %q) is false", v.id, v.text)
		}
		if IDBound(v.id, v.text+"!") || CheckMessageID(v.id, "other text") == nil {
			t.Errorf("%s is bound to other text too", v.id)
		}
	}
	// The genesis id is bound to nothing: it is valid in the genesis only.
	if IDBound(GenesisID, GenesisMessage) {
		t.Error("the all-zero genesis id passes as bound")
	}
	// Binding needs no allocation (it runs for every message verified).
	if n := testing.AllocsPerRun(100, func() { IDBound("01020304-0506-8668-b925-357d69b2d8cf", "hello") }); n != 0 {
		t.Errorf("IDBound allocates %v times", n)
	}
}

func TestStringLen(t *testing.T) {
	for _, s := range []string{"", "plain", "quote\" and \\ back", "\b\f\n\r\t", "\x00\x01\x1f\x7f", "Grüße 🎉"} {
		if got, want := StringLen(s), len(AppendString(nil, s)); got != want {
			t.Errorf("StringLen(%q) = %d, want %d", s, got, want)
		}
	}
}

// White space alone is refused at the front doors, yet a block holding it
// stays valid: the policy is not a rule of the chain.
func TestBlankMessagePolicy(t *testing.T) {
	for _, text := range []string{" ", "\t\n", "\u00a0\u2003"} {
		if CheckMessage(text) != nil {
			t.Errorf("CheckMessage(%q) refuses a valid chain message", text)
		}
		if CheckNewMessage(text) == nil {
			t.Errorf("CheckNewMessage(%q) accepts a blank message", text)
		}
	}
	for _, text := range []string{"x", " x ", ""} {
		if (CheckNewMessage(text) == nil) != (CheckMessage(text) == nil) {
			t.Errorf("CheckNewMessage(%q) and CheckMessage disagree", text)
		}
	}
}
