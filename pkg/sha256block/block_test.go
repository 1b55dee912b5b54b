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

// The two-lane SHA-NI search finds exactly the proofs the plain loop finds.
func TestSearchMatchesGeneric(t *testing.T) {
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
		s := NewSearcher(Midstate(&first), tail)
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
	var first, tail [64]byte
	Pad(&tail, 32, 96)
	s := NewSearcher(Midstate(&first), tail)
	const n = 1 << 16
	for b.Loop() {
		s.Search(0, 1, n, ^uint32(0))
	}
	b.ReportMetric(float64(n)*float64(b.N)/b.Elapsed().Seconds()/1e6, "Mattempts/s")
}
