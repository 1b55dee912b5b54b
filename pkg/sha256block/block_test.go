package sha256block

import (
	"crypto/sha256"
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
