package api_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

	"github.com/bc-chain/bc/pkg/internal/fakepeer"
	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// evalAsync evaluates a JavaScript expression that may return a promise.
func evalAsync[T any](t *testing.T, ctx context.Context, expr string) T {
	t.Helper()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, func(p *runtime.EvaluateParams) {
		await := true
		p.AwaitPromise = &await
	}))
	must(t, err)
	return v
}

// shoot saves a screenshot of the page as a test artifact.
func shoot(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	png, err := chromedp.Run(ctx, chromedp.FullScreenshot(100))
	must(t, err)
	path := filepath.Join(artifactDir(t), name)
	must(t, os.WriteFile(path, png, 0o644))
	t.Logf("screenshot: %s", path)
}

// The teaching views on a real node: a block's page recomputes the hash
// and checks every rule; the tamper lab names the first broken link as
// bc-verify does and the node's /check gives its typed verdict; a real
// reorg (a peer with a longer fork) appears in the fork view and in the
// dropped message's journey.
func TestBrowserTeaching(t *testing.T) {
	bctx, dialogs := browser(t)
	n := nodetest.New(t).Node("teach", 10)
	n.Create()
	n.Start("bc-serve")
	ours := n.Add("mined here, then dropped by a reorg")
	for i, msg := range []string{"", "second", "third"} {
		if i > 0 {
			n.Add(msg)
		}
		if out, errOut, code := n.Run("", "bc-mine", "--once"); code != 0 {
			t.Fatalf("bc-mine --once: %s %s", out, errOut)
		}
	}
	mine := n.Chain()
	b2 := mine.Blocks[2].Hash.String()

	// The JavaScript SHA-256 (the lab's miner) agrees with Web Crypto.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/block/"+b2), chromedp.WaitVisible(chromedp.CSS(`#block-checks li`))))
	if bad := evalAsync[int](t, bctx, `(async () => { let bad = 0; for (let n = 0; n < 300; n += 7) {
		const x = crypto.getRandomValues(new Uint8Array(n));
		if (bcfmt.hex(bcfmt.sha256(x)) !== bcfmt.hex(await bcfmt.sha256web(x))) bad++; } return bad; })()`); bad != 0 {
		t.Fatalf("the page's SHA-256 differs from Web Crypto on %d inputs", bad)
	}

	// The block page: every rule holds, the first 10 bits are boxed.
	waitFor(t, bctx, `document.querySelectorAll('#block-checks li').length >= 9`)
	waitText(t, bctx, "#block-verdict", "Valid")
	if bad := evalAsync[int](t, bctx, `document.querySelectorAll('#block-checks li.bad').length`); bad != 0 {
		t.Fatalf("%d rules fail on a valid block", bad)
	}
	if boxed := evalAsync[string](t, bctx, `document.querySelector('#block-bits .target').textContent`); boxed != strings.Repeat("0", 10) {
		t.Fatalf("boxed bits %q, want ten zeros", boxed)
	}
	waitText(t, bctx, "#block-origin", "mined here")
	shoot(t, bctx, "block.png")

	// The tamper lab: a changed message breaks block 2's hash, as
	// bc-verify says of the same copy.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/lab")))
	waitFor(t, bctx, `document.querySelectorAll('#lab-blocks li.lab-block').length === 4`)
	edit := `(() => { const a = document.querySelector('#lab-blocks li[data-index="2"] textarea'); a.value = 'tampered'; a.dispatchEvent(new Event('change')); })()`
	evalAsync[any](t, bctx, edit)
	waitFor(t, bctx, `document.querySelector('#lab-verdict').dataset.rule === 'hash' && document.querySelector('#lab-verdict').dataset.block === '2'`)
	sameAsVerify(t, bctx, n, "block 2", "hash")
	click := func(index int, text string) {
		evalAsync[any](t, bctx, `[...document.querySelectorAll('#lab-blocks li[data-index="`+strconv.Itoa(index)+`"] button')].find(b => b.textContent.startsWith(`+jsString(text)+`)).click()`)
	}
	lastAnswer := `[...document.querySelectorAll('#lab-blocks li[data-index="2"] .node-answer')].pop()`
	click(2, "Ask the node") // its typed error, from the node's own validation
	waitFor(t, bctx, lastAnswer+`?.dataset.rule === 'hash'`)

	// Its id rebound to the new text, re-mined at the chain's difficulty
	// and its hash restated, block 2 is valid where it stands (the node says so), and block 3's link breaks.
	click(2, "Rebind")
	waitFor(t, bctx, `document.querySelector('#lab-verdict').dataset.rule === 'hash'`)
	click(2, "Re-mine")
	waitFor(t, bctx, `document.querySelector('#lab-verdict').dataset.rule === 'previous-hash' && document.querySelector('#lab-verdict').dataset.block === '3'`)
	sameAsVerify(t, bctx, n, "block 3", "previous-hash")
	click(2, "Ask the node")
	waitFor(t, bctx, `document.querySelector('#lab-blocks li[data-index="2"] .node-answer.good')`)
	shoot(t, bctx, "lab.png")
	if got := n.Chain().Tip().Hash; got != mine.Tip().Hash {
		t.Fatal("the lab changed the node's chain")
	}

	// A real reorg: a peer serves a longer fork from the genesis.
	fake := fakepeer.Start(t, mine.Blocks[0].Hash)
	fork := mine.Fork(0)
	nodetest.Must(t, fork.AddN(5, 1))
	fake.SetChain(fork.Lines())
	n.StartGossip([]string{fake.Addr})
	proctest.Eventually(t, 30*time.Second, "the longer fork", func() bool { return n.Tip() == fork.Tip().Hash.String() })
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/network")))
	waitFor(t, bctx, `document.querySelector('#reorgs .reorg')`)
	waitText(t, bctx, "#reorgs .branch.dropped h4", "Dropped: 3 blocks")
	waitText(t, bctx, "#reorgs .branch.adopted h4", "Adopted: 5 blocks")
	waitText(t, bctx, "#reorgs .branch.adopted", "peer "+fake.Addr)
	waitFor(t, bctx, `document.querySelector('#reorgs a[href="#/message/`+ours+`"]')`)
	waitText(t, bctx, "#net-table", fake.Addr)
	shoot(t, bctx, "network.png")

	// The dropped message's journey says why it is pending again.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/message/"+ours)))
	waitText(t, bctx, "#journey li.back", "back to pending")
	waitText(t, bctx, "#journey", "Now: pending")
	shoot(t, bctx, "journey.png")

	// The proof-of-work page explains the difficulty in words.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/pow")))
	waitText(t, bctx, "#pow-facts", "2^10 = 1,024 attempts per block")
	waitFor(t, bctx, `document.querySelector('#pow-hist-legend').textContent !== ''`)
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/learn")))
	waitText(t, bctx, "#experiments", "Tamper with block 3")
	if dialogs.Load() != 0 {
		t.Fatalf("%d dialogs opened", dialogs.Load())
	}
}

// sameAsVerify writes the lab's copy to a file and checks that bc-verify
// names the same block and rule as the lab.
func sameAsVerify(t *testing.T, ctx context.Context, n *nodetest.Node, block, rule string) {
	t.Helper()
	lines := evalAsync[string](t, ctx, `learn.lab.blocks.map(bcfmt.line).join("\n") + "\n"`)
	file := filepath.Join(t.TempDir(), "copy.chain")
	must(t, os.WriteFile(file, []byte(lines), 0o644))
	out, errOut, code := n.Run("", "bc-verify", file)
	if code == 0 || !strings.Contains(out+errOut, block) || !strings.Contains(out+errOut, ": "+rule+":") {
		t.Fatalf("the lab says %s breaks %q; bc-verify (exit %d) says:\n%s%s", block, rule, code, out, errOut)
	}
}

// POST /check: a valid block is valid, a changed one names its rule,
// and malformed or oversized bodies are refused; nothing is written.
func TestCheckEndpoint(t *testing.T) {
	n := &node{Node: nodetest.New(t).Node("check", 8)}
	n.url = n.URL()
	n.Create()
	n.Start("bc-serve")
	n.Add("checked")
	if out, errOut, code := n.Run("", "bc-mine", "--once"); code != 0 {
		t.Fatalf("bc-mine --once: %s %s", out, errOut)
	}
	line := string(n.Chain().Lines()[1])
	if a := n.req(t, "POST", "/check", "", line); a.code != 200 || a.body["valid"] != true {
		t.Fatalf("a valid block: %d %s", a.code, a.raw)
	}
	a := n.req(t, "POST", "/check", "", strings.Replace(line, "checked", "chucked", 1))
	if a.code != 200 || a.body["valid"] != false || a.body["rule"] != "hash" || !strings.Contains(a.raw, "block 1") {
		t.Fatalf("a changed block: %d %s", a.code, a.raw)
	}
	n.req(t, "POST", "/check", "", line+"\n"+line).expect(t, 400)
	n.req(t, "POST", "/check", "", strings.Repeat("x", 1<<20+2)).expect(t, 413)
	n.req(t, "GET", "/check", "", "").expect(t, 405)
	if a := n.req(t, "POST", "/check", "", "{"); a.code != 200 || a.body["rule"] != "syntax" {
		t.Fatalf("a broken line: %d %s", a.code, a.raw)
	}
	if h := n.Height(); h != 1 {
		t.Fatalf("checks changed the chain: height %d", h)
	}
}
