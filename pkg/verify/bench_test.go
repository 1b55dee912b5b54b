package verify_test

import (
	"context"
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/internal/chaintest"
	"github.com/bc-chain/bc/pkg/pow"
	"github.com/bc-chain/bc/pkg/strategy"
	"github.com/bc-chain/bc/pkg/validate"
	"github.com/bc-chain/bc/pkg/verify"
)

var benchChain struct {
	once sync.Once
	path string
	err  error
}

// benchFile generates a chain of n blocks (difficulty 4, one message each)
// once per test binary run, in BC_BENCH_CACHE if set (to reuse it).
func benchFile(b *testing.B, n int) string {
	benchChain.once.Do(func() {
		dir := os.Getenv("BC_BENCH_CACHE")
		if dir == "" {
			dir = os.TempDir()
		}
		benchChain.path = filepath.Join(dir, "bc-bench-1m.chain")
		if st, err := os.Stat(benchChain.path); err == nil && st.Size() > 0 {
			return
		}
		d := uint32(4)
		p, err := pow.NewParams(strategy.Default{}.Describe(), "bench", &d, nil)
		if err != nil {
			benchChain.err = err
			return
		}
		f, err := os.Create(benchChain.path + ".tmp")
		if err != nil {
			benchChain.err = err
			return
		}
		benchChain.err = chaintest.Generate(f, strategy.Default{}, p, n, 1)
		f.Close()
		if benchChain.err == nil {
			benchChain.err = os.Rename(benchChain.path+".tmp", benchChain.path)
		}
	})
	if benchChain.err != nil {
		b.Fatal(benchChain.err)
	}
	return benchChain.path
}

// BenchmarkVerify1M verifies a 1,000,000-block chain through a real plugin
// process and reports blocks/s.
func BenchmarkVerify1M(b *testing.B) {
	path := benchFile(b, 1_000_000)
	dir := pluginDirB(b)
	var plugin *pow.Plugin
	open := func(ctx context.Context, p *chain.Params) (validate.Verifier, error) {
		var err error
		plugin, err = pow.Open(ctx, filepath.Join(dir, "bc-pow-"+p.Strategy), nil)
		return plugin, err
	}
	st, _ := os.Stat(path)
	b.SetBytes(st.Size())
	var blocks uint64
	for b.Loop() {
		f, err := os.Open(path)
		if err != nil {
			b.Fatal(err)
		}
		res, err := verify.Verify(context.Background(), f, validate.Options{}, open, nil)
		f.Close()
		plugin.Close()
		if err != nil {
			b.Fatal(err)
		}
		blocks = res.Blocks
	}
	b.ReportMetric(float64(blocks)*float64(b.N)/b.Elapsed().Seconds(), "blocks/s")
}

func pluginDirB(b *testing.B) string {
	dir := b.TempDir()
	exe, _ := os.Executable()
	for _, n := range []string{"bc-pow-default", "bc-pow-classic", "bc-pow-scrypt"} {
		if err := os.Symlink(exe, filepath.Join(dir, n)); err != nil {
			b.Fatal(err)
		}
	}
	return dir
}
