package client_test

import (
	"slices"
	"strings"
	"testing"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/seednode"
)

// bc-add works against a node of the seed: its POST is refused with the
// seed's 404, the seed's PUT ?message= takes the message, and bc-add says
// why it prints no id.
func TestAddToASeedNode(t *testing.T) {
	seed := seednode.Start(t)
	bin := nodetest.New(t).Bin
	out, errOut, code := bin.Run(t, "", "bc-add", "--node", seed.Addr(), "hello from bc", "and é & ?=x")
	if code != 0 || out != "" || strings.Count(errOut, "is a node of the seed") != 1 {
		t.Fatalf("bc-add to a seed node: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	if got := seed.Added(); !slices.Equal(got, []string{"hello from bc", "and é & ?=x"}) {
		t.Fatalf("the seed node got %q", got)
	}
	if seed.Hits("POST /add") != 2 || seed.Hits("PUT /add") != 2 {
		t.Fatalf("requests: POST %d, PUT %d", seed.Hits("POST /add"), seed.Hits("PUT /add"))
	}
	_, errOut, code = bin.Run(t, "", "bc-add", "--node", seed.Addr(), "--wait", "followed?")
	if code != 1 || !strings.Contains(errOut, "--wait cannot follow") {
		t.Fatalf("bc-add --wait to a seed node: exit %d, stderr %q", code, errOut)
	}
}
