package sha256block

import (
	"crypto/sha256"
	"encoding/binary"
	"math/rand/v2"
	"testing"
)

// sum hashes msg with Block and Pad (any length).
func sum(msg []byte, compress func(*[8]uint32, *[64]byte)) [32]byte {
	s := IV
	var blk [64]byte
	rest := msg
	for len(rest) >= 64 {
		copy(blk[:], rest[:64])
		compress(&s, &blk)
		rest = rest[64:]
	}
	clear(blk[:])
	copy(blk[:], rest)
	if len(rest) > 55 {
		blk[len(rest)] = 0x80
		compress(&s, &blk)
		clear(blk[:])
		Pad(&blk, 0, uint64(len(msg)))
		blk[0] = 0
	} else {
		Pad(&blk, len(rest), uint64(len(msg)))
	}
	compress(&s, &blk)
	var out [32]byte
	Digest(&s, &out)
	return out
}

func TestBlockMatchesStdlib(t *testing.T) {
	impls := map[string]func(*[8]uint32, *[64]byte){"generic": blockGeneric, "dispatch": Block}
	if useSHANI {
		impls["sha-ni"] = blockSHANI
	} else {
		t.Log("CPU has no SHA extensions; testing the portable code only")
	}
	r := rand.New(rand.NewPCG(1, 2))
	for name, f := range impls {
		for n := 0; n < 300; n++ {
			msg := make([]byte, n)
			for i := range msg {
				msg[i] = byte(r.Uint32())
			}
			if got, want := sum(msg, f), sha256.Sum256(msg); got != want {
				t.Fatalf("%s: length %d: got %x, want %x", name, n, got, want)
			}
			if got, want := Sum(msg), sha256.Sum256(msg); got != want {
				t.Fatalf("Sum: length %d: got %x, want %x", n, got, want)
			}
		}
	}
}

func BenchmarkBlock(b *testing.B) {
	var blk [64]byte
	s := IV
	b.SetBytes(64)
	for b.Loop() {
		Block(&s, &blk)
	}
}

func BenchmarkBlockGeneric(b *testing.B) {
	var blk [64]byte
	s := IV
	b.SetBytes(64)
	for b.Loop() {
		blockGeneric(&s, &blk)
	}
}

func BenchmarkSum96(b *testing.B) {
	var msg [96]byte
	for b.Loop() {
		Sum(msg[:])
	}
}

func BenchmarkStdlibSum96(b *testing.B) {
	var msg [96]byte
	for b.Loop() {
		sha256.Sum256(msg[:])
	}
}

// engines are the search engines this platform can run.
func engines() map[string]engine {
	e := map[string]engine{"generic": engineGeneric, "stdlib": engineStdlib}
	if useSHANI {
		e["sha-ni"] = engineSHANI
	}
	return e
}

// Every engine (the two-lane SHA-NI search, crypto/sha256 resumed from the
// midstate, the portable loop) finds exactly the proofs the standard
// library's plain loop finds.
func TestSearchMatchesGeneric(t *testing.T) {
	for name, e := range engines() {
		t.Run(name, func(t *testing.T) { testSearchEngine(t, e) })
	}
	t.Logf("this platform searches with engine %d (0 generic, 1 SHA-NI, 2 crypto/sha256)", platformEngine())
}

func testSearchEngine(t *testing.T, e engine) {
	r := rand.New(rand.NewPCG(5, 6))
	for trial := 0; trial < 200; trial++ {
		var first [64]byte
		var tail [64]byte
		for i := range first {
			first[i] = byte(r.Uint32())
		}
		for i := 0; i < 32; i++ {
			tail[i] = byte(r.Uint32())
		}
		Pad(&tail, 32, 96)
		s := newSearcher(Midstate(&first), tail, e)
		d := uint32(1 + r.IntN(12))
		start, stride := r.Uint64()>>8, uint64(1+r.IntN(3))
		got, ok := s.Search(start, stride, 1<<16, Mask(d))
		// The plain loop, with the standard library.
		want, wantOK := uint64(0), false
		msg := append(append([]byte(nil), first[:]...), tail[:32]...)
		for i, p := uint64(0), start; i < 1<<16; i, p = i+1, p+stride {
			binary.BigEndian.PutUint64(msg[64+ProofOffset:], p)
			sum := sha256.Sum256(msg)
			if binary.BigEndian.Uint32(sum[:4])&Mask(d) == 0 {
				want, wantOK = p, true
				break
			}
		}
		if ok != wantOK || got != want {
			t.Fatalf("trial %d (difficulty %d, stride %d): got %d %v, want %d %v", trial, d, stride, got, ok, want, wantOK)
		}
		if ok {
			st := s.State(got)
			var dig [32]byte
			Digest(&st, &dig)
			binary.BigEndian.PutUint64(msg[64+ProofOffset:], got)
			if dig != sha256.Sum256(msg) {
				t.Fatal("State disagrees with the standard library")
			}
		}
	}
}

func BenchmarkSearch(b *testing.B) {
	for name, e := range engines() {
		b.Run(name, func(b *testing.B) {
			var first, tail [64]byte
			Pad(&tail, 32, 96)
			s := newSearcher(Midstate(&first), tail, e)
			const n = 1 << 16
			b.ReportAllocs()
			for b.Loop() {
				s.Search(0, 1, n, ^uint32(0))
			}
			b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mattempts/s")
		})
	}
}

// The hot loop allocates nothing, whatever the engine.
func TestSearchAllocatesNothing(t *testing.T) {
	var first, tail [64]byte
	Pad(&tail, 32, 96)
	for name, e := range engines() {
		s := newSearcher(Midstate(&first), tail, e)
		if n := testing.AllocsPerRun(10, func() { s.Search(0, 1, 1000, ^uint32(0)) }); n != 0 {
			t.Errorf("%s: %.0f allocations per search", name, n)
		}
	}
}

// The measured choice picks the quicker engine: SHA-NI's two lanes are
// more than twice as fast as the portable loop, whichever comes first.
func TestFasterPicksTheQuickerEngine(t *testing.T) {
	if !useSHANI {
		t.Skip("no SHA-NI here to compare against")
	}
	if e := faster(engineGeneric, engineSHANI); e != engineSHANI {
		t.Fatalf("faster(generic, sha-ni) = %d", e)
	}
	if e := faster(engineSHANI, engineGeneric); e != engineSHANI {
		t.Fatalf("faster(sha-ni, generic) = %d", e)
	}
}
