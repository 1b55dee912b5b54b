package crashtest

import (
	"context"
	"os"

	"github.com/bc-chain/bc/pkg/powsdk"
	"github.com/bc-chain/bc/pkg/strategy"
)

// crashy is the default strategy, except that its first search in a given
// directory ($BC_CRASH_FLAG marks it) kills the plugin process mid-search.
type crashy struct{ strategy.Default }

func (crashy) Describe() powsdk.Info {
	i := strategy.Default{}.Describe()
	i.Name = "crashy"
	return i
}

func (c crashy) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	flag := os.Getenv("BC_CRASH_FLAG")
	if _, err := os.Stat(flag); err != nil {
		_ = os.WriteFile(flag, []byte("crashed once\n"), 0o644)
		os.Exit(7) // mid-search, without a word
	}
	return c.Default.Seal(ctx, req, report)
}

// stuck is the default strategy whose first search hangs: it ignores its
// context and never makes progress.
type stuck struct{ strategy.Default }

func (stuck) Describe() powsdk.Info {
	i := strategy.Default{}.Describe()
	i.Name = "stuck"
	return i
}

func (s stuck) Seal(ctx context.Context, req powsdk.SealRequest, report func(uint64)) (powsdk.SealResult, error) {
	flag := os.Getenv("BC_CRASH_FLAG")
	if _, err := os.Stat(flag); err != nil {
		_ = os.WriteFile(flag, []byte("hung once\n"), 0o644)
		select {} // hang forever
	}
	return s.Default.Seal(ctx, req, report)
}
