package strategy

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/powsdk"
)

func testHeader(t testing.TB) [chain.HeaderSize]byte {
	h := chain.Header{Index: 7, Timestamp: 1700000000000, PrevHash: sha256.Sum256([]byte("prev")), DataRoot: sha256.Sum256([]byte("data"))}
	var buf [chain.HeaderSize]byte
	h.Encode(&buf)
	return buf
}

func params(t testing.TB, s pow.Strategy, difficulty uint32) chain.Params {
	p, err := pow.NewParams(s.Describe(), "test", &difficulty, nil)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// seal finds a proof and checks it three ways: the result's own work hash,
// Verify, and an independent computation.
func TestSealVerify(t *testing.T) {
	cases := []struct {
		s          pow.Strategy
		difficulty uint32
		check      func(header [chain.HeaderSize]byte, prev uint64, res pow.SealResult) bool
	}{
		{Default{}, 12, func(h [chain.HeaderSize]byte, _ uint64, r pow.SealResult) bool {
			binary.BigEndian.PutUint64(h[chain.ProofOffset:], r.Proof)
			sum := sha256.Sum256(h[:])
			return sum == r.WorkHash && zeroBits(sum) >= 12
		}},
		// Above 16 bits, so that a search that checks a fixed part of the
		// hash rather than the difficulty is caught.
		{Default{}, 22, func(h [chain.HeaderSize]byte, _ uint64, r pow.SealResult) bool {
			binary.BigEndian.PutUint64(h[chain.ProofOffset:], r.Proof)
			sum := sha256.Sum256(h[:])
			return sum == r.WorkHash && zeroBits(sum) >= 22
		}},
		{Classic{}, 3, func(_ [chain.HeaderSize]byte, prev uint64, r pow.SealResult) bool {
			sum := sha256.Sum256([]byte(strconv.FormatUint(prev, 10) + strconv.FormatUint(r.Proof, 10)))
			hexs := chain.Hash(sum).String()
			return sum == r.WorkHash && strings.HasSuffix(hexs, "000")
		}},
		{Scrypt{}, 3, func(h [chain.HeaderSize]byte, _ uint64, r pow.SealResult) bool {
			return r.WorkHash[0]>>5 == 0
		}},
	}
	for _, c := range cases {
		name := c.s.Describe().Name + "-" + strconv.Itoa(int(c.difficulty))
		t.Run(name, func(t *testing.T) {
			p := params(t, c.s, c.difficulty)
			for _, threads := range []int{1, 2, 3} {
				header := testHeader(t)
				req := pow.SealRequest{Params: p, Header: header, PrevProof: 4711, Threads: threads}
				res, err := c.s.Seal(context.Background(), req, nil)
				if err != nil {
					t.Fatal(err)
				}
				if !c.check(header, req.PrevProof, res) {
					t.Fatalf("threads %d: proof %d (work %s) does not meet difficulty %d", threads, res.Proof, res.WorkHash, c.difficulty)
				}
				binary.BigEndian.PutUint64(header[chain.ProofOffset:], res.Proof)
				rec := binary.BigEndian.AppendUint64(append([]byte(nil), header[:]...), req.PrevProof)
				bad, _, err := c.s.Verify(p, rec)
				if err != nil || bad != -1 {
					t.Fatalf("Verify of a sealed header: bad=%d err=%v", bad, err)
				}
				// At the highest difficulty the record fails, and Verify
				// reports the work hash Seal found.
				hardest := p
				hardest.Difficulty = c.s.Describe().MaxDifficulty
				if bad, work, err := c.s.Verify(hardest, rec); err != nil || bad != 0 || work != res.WorkHash {
					t.Fatalf("Verify at difficulty %d: bad %d, work %s, %v; want work %s", hardest.Difficulty, bad, work, err, res.WorkHash)
				}
				// Just above the work the proof did, Verify refuses it.
				if c.s.Describe().Name == "default" {
					harder := p
					harder.Difficulty = uint32(zeroBits(res.WorkHash)) + 1
					if bad, _, err := c.s.Verify(harder, rec); err != nil || bad != 0 {
						t.Fatalf("Verify at difficulty %d of a proof with %d zero bits: bad=%d err=%v", harder.Difficulty, zeroBits(res.WorkHash), bad, err)
					}
				}
			}
		})
	}
}

// Verify names the first bad record of a batch.
func TestVerifyFindsFirstBad(t *testing.T) {
	for _, c := range []struct {
		s          pow.Strategy
		difficulty uint32
	}{{Default{}, 8}, {Classic{}, 2}} {
		s := c.s
		p := params(t, s, c.difficulty)
		var batch []byte
		prev := uint64(0)
		for i := 0; i < 1000; i++ {
			h := chain.Header{Index: uint64(i + 1), Timestamp: uint64(i), DataRoot: sha256.Sum256([]byte{byte(i)})}
			var buf [chain.HeaderSize]byte
			h.Encode(&buf)
			res, err := s.Seal(context.Background(), pow.SealRequest{Params: p, Header: buf, PrevProof: prev, Threads: 1}, nil)
			if err != nil {
				t.Fatal(err)
			}
			h.Proof = res.Proof
			if i == 700 {
				h.Proof++ // almost certainly invalid now
				if _, ok := verifyOne(t, s, p, &h, prev); ok {
					h.Proof++
				}
			}
			batch = chain.AppendRecord(batch, &h, prev)
			prev = h.Proof
		}
		bad, _, err := s.Verify(p, batch)
		if err != nil || bad != 700 {
			t.Fatalf("%s: Verify = %d, %v; want 700", s.Describe().Name, bad, err)
		}
	}
}

func verifyOne(t *testing.T, s pow.Strategy, p chain.Params, h *chain.Header, prev uint64) (chain.Hash, bool) {
	bad, w, err := s.Verify(p, chain.AppendRecord(nil, h, prev))
	if err != nil {
		t.Fatal(err)
	}
	return w, bad < 0
}

// A search is cancelled within milliseconds.
func TestSealCancel(t *testing.T) {
	for _, s := range []pow.Strategy{Default{}, Classic{}, Scrypt{}} {
		p := params(t, s, s.Describe().MaxDifficulty)
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() {
			_, err := s.Seal(ctx, pow.SealRequest{Params: p, Header: testHeader(t)}, nil)
			done <- err
		}()
		time.Sleep(50 * time.Millisecond)
		start := time.Now()
		cancel()
		select {
		case err := <-done:
			if err != context.Canceled {
				t.Fatalf("%s: Seal after cancel = %v", s.Describe().Name, err)
			}
			t.Logf("%s: search stopped %v after cancel", s.Describe().Name, time.Since(start))
		case <-time.After(5 * time.Second):
			t.Fatalf("%s: search still running 5 s after cancel", s.Describe().Name)
		}
	}
}

// The in-place decimal counter agrees with strconv across carries.
func TestClassicCounter(t *testing.T) {
	for _, c := range []struct{ prev, first, stride uint64 }{{0, 0, 1}, {12345, 990, 3}, {7, 99999990, 7}, {1 << 63, 18446744073709551600, 1}} {
		s := newClassicSearch(c.prev, 0)
		s.load(c.first)
		proof := c.first
		for i := 0; i < 40 && proof+c.stride > proof; i++ {
			want := strconv.FormatUint(c.prev, 10) + strconv.FormatUint(proof, 10)
			if got := string(s.block[:s.prefix+s.digits]); got != want {
				t.Fatalf("counter at %d: %q, want %q", proof, got, want)
			}
			proof += c.stride
			s.add(c.stride, proof)
		}
	}
}

func benchSeal(b *testing.B, s pow.Strategy, threads int) {
	p := params(b, s, s.Describe().MaxDifficulty)
	header := testHeader(b)
	var total uint64
	start := time.Now()
	for b.Loop() {
		ctx, cancel := context.WithTimeout(context.Background(), 500*time.Millisecond)
		res, _ := s.Seal(ctx, pow.SealRequest{Params: p, Header: header, Threads: threads}, nil)
		cancel()
		total += res.Attempts
	}
	b.ReportMetric(float64(total)/time.Since(start).Seconds()/1e6, "Mattempts/s")
}

func BenchmarkSealDefault1(b *testing.B)   { benchSeal(b, Default{}, 1) }
func BenchmarkSealDefaultAll(b *testing.B) { benchSeal(b, Default{}, 0) }
func BenchmarkSealClassic1(b *testing.B)   { benchSeal(b, Classic{}, 1) }
func BenchmarkSealClassicAll(b *testing.B) { benchSeal(b, Classic{}, 0) }
func BenchmarkSealScrypt1(b *testing.B)    { benchSeal(b, Scrypt{}, 1) }
func BenchmarkSealScryptAll(b *testing.B)  { benchSeal(b, Scrypt{}, 0) }

var _ = powsdk.CheckEvery

// zeroBits counts the leading zero bits of a hash.
func zeroBits(h [32]byte) int {
	n := 0
	for _, b := range h {
		if b != 0 {
			for ; b&0x80 == 0; b <<= 1 {
				n++
			}
			return n
		}
		n += 8
	}
	return n
}
