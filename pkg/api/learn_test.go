package api_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"

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
	c := nodetest.New(t)
	n := c.Node("teach", 10)
	n.Create()
	n.Start("bc-serve")
	// The first message goes in through the page, which follows it.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/"), chromedp.WaitVisible(chromedp.CSS(`#live`))))
	waitText(t, bctx, "#live", "live")
	const oursText = "mined here, then dropped by a reorg"
	must(t, chromedp.Do(bctx, chromedp.SendKeys(chromedp.CSS(`#message`), oursText), chromedp.Click(chromedp.CSS(`#add-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#tracked li`))))
	ours := evalAsync[string](t, bctx, `document.querySelector('#tracked li').dataset.id`)
	for i, msg := range []string{"", "second", "third"} {
		if i > 0 {
			n.Add(msg)
		}
		if out, errOut, code := n.Run("", "bc-mine", "--once"); code != 0 {
			t.Fatalf("bc-mine --once: %s %s", out, errOut)
		}
	}
	waitText(t, bctx, "#tracked li .state", "in block #1")
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
	evalAsync[any](t, bctx, `document.querySelector('#view-block .info').click()`) // a tap opens the explanation
	waitText(t, bctx, "#view-block .info-text", "canonical JSON")
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

	// A real reorg: another node of the same chain mined a longer fork.
	other := c.Node("other", 10)
	other.Create()
	other.Start("bc-serve")
	for i := range 5 {
		other.Add(fmt.Sprint("the other side's message ", i))
		if out, errOut, code := other.Run("", "bc-mine", "--once", "--max-messages", "1"); code != 0 {
			t.Fatalf("bc-mine --once: %s %s", out, errOut)
		}
	}
	n.StartGossip([]string{other.Addr()})
	proctest.Eventually(t, 30*time.Second, "the longer fork", func() bool { return n.Tip() == other.Tip() })
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/network")))
	waitFor(t, bctx, `document.querySelector('#reorgs .reorg')`)
	waitText(t, bctx, "#reorgs .branch.dropped h4", "Dropped: 3 blocks")
	waitText(t, bctx, "#reorgs .branch.adopted h4", "Adopted: 5 blocks")
	waitText(t, bctx, "#reorgs .branch.adopted", "peer "+other.Addr())
	waitText(t, bctx, "#reorgs .branch.dropped", "mined here")
	waitFor(t, bctx, `document.querySelector('#reorgs a[href="#/message/`+ours+`"]')`)
	waitFor(t, bctx, `[...document.querySelectorAll('#net-table tr')].some(tr => tr.textContent.includes(`+jsString(other.Addr())+`) && tr.textContent.includes('same tip'))`)
	shoot(t, bctx, "network.png")

	// The dropped message: the page that followed it says why it is pending
	// again, and so does its journey; mined again, the journey says where.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/")))
	waitText(t, bctx, "#tracked li .state", "back to pending: a reorg")
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/message/"+ours)))
	waitText(t, bctx, "#journey li.back", "back to pending")
	waitText(t, bctx, "#journey", "Now: pending")
	shoot(t, bctx, "journey.png")
	n.Start("bc-mine")
	proctest.Eventually(t, 30*time.Second, "our message mined again", func() bool { return n.Mined(ours) })
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/"), chromedp.Navigate(n.URL()+"/#/message/"+ours)))
	waitText(t, bctx, "#journey li.mined", "Now: in block")
	waitText(t, bctx, "#journey li.back", "back to pending")
	// A dropped block's page says it was dropped, and by which reorg.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/block/"+b2)))
	waitText(t, bctx, "#block-verdict", "is no longer on this node's chain: the reorg of")

	// The proof-of-work page explains the difficulty in words.
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/pow")))
	waitText(t, bctx, "#pow-facts", "2^10 = 1,024 attempts per block")
	waitFor(t, bctx, `document.querySelector('#pow-hist-legend').textContent !== ''`)
	waitText(t, bctx, "#pow-strategies", "memory-hard") // the plugins' own words
	shoot(t, bctx, "pow.png")
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/learn")))
	waitText(t, bctx, "#experiments", "Tamper with block 3")

	// On a phone's width no view is wider than the screen.
	must(t, chromedp.Do(bctx, chromedp.EmulateViewport(390, 844)))
	for _, view := range []string{"", "block/" + n.Chain().Blocks[2].Hash.String(), "block/" + b2, "pow", "network", "lab", "message/" + ours, "learn"} {
		must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/#/"+view)))
		time.Sleep(300 * time.Millisecond)
		if w := evalAsync[int](t, bctx, `document.documentElement.scrollWidth - window.innerWidth`); w > 1 {
			shoot(t, bctx, "phone-overflow.png")
			wide := evalAsync[[]string](t, bctx, `[...document.querySelectorAll('body *')].filter(e => (e.getBoundingClientRect().right > window.innerWidth + 1 || e.scrollWidth > e.clientWidth + 1) && e.getClientRects().length > 0 && getComputedStyle(e).overflowX === 'visible').slice(0, 8).map(e => e.tagName + '#' + e.id + '.' + e.className + ' ' + Math.round(e.getBoundingClientRect().right) + ' ' + (e.className === 'error' ? e.textContent : ''))`)
			t.Errorf("view %q is %d px wider than a phone's screen: %q", view, w, wide)
		}
	}
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
	// The strategies, as their plugins describe themselves.
	st := n.req(t, "GET", "/strategies", "", "")
	if st.code != 200 || st.body["length"] != float64(3) || !strings.Contains(st.raw, `"name":"scrypt"`) || !strings.Contains(st.raw, "memory-hard") {
		t.Fatalf("/strategies: %d %s", st.code, st.raw)
	}
}
