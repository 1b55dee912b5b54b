package api_test

import (
	"context"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/bc-chain/bc/pkg/internal/nodetest"
	"github.com/bc-chain/bc/pkg/internal/proctest"
)

// chromium returns Debian's Chromium, or skips the test saying how to get it.
func chromium(t *testing.T) string {
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	proctest.SkipMissing(t, "no Chromium: install Debian's package (apt-get install chromium) to run the browser test; .ci/run does")
	return ""
}

// artifactDir is where the browser test leaves its screenshot.
func artifactDir(t *testing.T) string {
	dir := os.Getenv("BC_ARTIFACT_DIR")
	if dir == "" {
		dir = filepath.Join("..", "..", "bin", "artifacts")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	abs, _ := filepath.Abs(dir)
	return abs
}

// A real browser: load the UI, add a message through the form and see it
// become a block without reloading; hostile messages show as text and run
// nothing.
// browser starts headless Chromium for the test and returns its context
// and a count of the JavaScript dialogs pages opened (dismissed).
func browser(t *testing.T) (context.Context, *atomic.Int32) {
	exe := chromium(t)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	t.Cleanup(cancel)
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(exe), chromedp.NoSandbox, chromedp.Headless, chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true), chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true), chromedp.Flag("disable-quic", true), chromedp.Flag("no-first-run", true),
		chromedp.UserDataDir(t.TempDir()), chromedp.WindowSize(1280, 1000),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx, opts...)
	t.Cleanup(cancelAlloc)
	bctx, cancelBrowser := chromedp.NewContext(allocCtx)
	t.Cleanup(cancelBrowser)
	var dialogs atomic.Int32
	must(t, chromedp.Listen(bctx, func(ev any) {
		if _, ok := ev.(*page.EventJavascriptDialogOpening); ok {
			dialogs.Add(1)
			go func() {
				_, _ = chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: false})
			}()
		}
	}))
	return bctx, &dialogs
}

// Hostile messages while they are pending (no miner runs): the pending
// list shows them as text, whether loaded with the page or arriving live.
func TestBrowserUIPendingIsText(t *testing.T) {
	bctx, dialogs := browser(t)
	n := nodetest.New(t).Node("pending", 14)
	n.Create()
	n.Start("bc-serve")
	const loaded = `<img src=x onerror="window.__pwned=1;alert(1)"> pending & <b>bold?</b>`
	const live = `<script>window.__pwned=2</script><img src=y onerror="window.__pwned=3">`
	n.Add(loaded)
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/"), chromedp.WaitVisible(chromedp.CSS(`#live`))))
	waitText(t, bctx, "#live", "live")
	n.Add(live)
	waitFor(t, bctx, `document.querySelectorAll('#pending li').length >= 2`)
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#pending li')].map(li => li.textContent)`))
	must(t, err)
	for _, msg := range []string{loaded, live} {
		if !slices.Contains(shown, msg) {
			t.Errorf("the pending list does not show %q as text; it shows %q", msg, shown)
		}
	}
	injected, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#pending img, #pending script, #pending b').length`))
	must(t, err)
	pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	must(t, err)
	if injected != 0 || pwned || dialogs.Load() != 0 {
		t.Fatalf("a pending message was interpreted as HTML: %d elements, pwned %v, %d dialogs", injected, pwned, dialogs.Load())
	}
}

func TestBrowserUI(t *testing.T) {
	bctx, dialogs := browser(t)
	n := startNode(t, true, 14)
	const hostile = `<img src=x onerror="window.__pwned=1;alert(1)"> & <b>bold?</b>`
	must(t, chromedp.Do(bctx,
		chromedp.Navigate(n.url+"/"),
		chromedp.WaitVisible(chromedp.CSS(`#blocks li.block`)),
		chromedp.WaitVisible(chromedp.CSS(`#live`)),
	))
	// Wait for the live stream before acting, so the block event is seen.
	waitText(t, bctx, "#live", "live")
	must(t, chromedp.Do(bctx,
		chromedp.SendKeys(chromedp.CSS(`#message`), hostile),
		chromedp.Click(chromedp.CSS(`#add-button`)),
		chromedp.WaitVisible(chromedp.CSS(`#tracked li`)),
	))
	// The message is followed until it is in a block, without a reload.
	waitText(t, bctx, "#tracked li .state", "in block #")

	// A second hostile message through the API arrives live.
	scriptMsg := `<script>window.__pwned=2</script>`
	n.req(t, "PUT", "/add?message="+url.QueryEscape(scriptMsg), "", "").expect(t, 200)
	waitFor(t, bctx, `[...document.querySelectorAll('#blocks .messages li')].some(li => li.textContent === `+jsString(scriptMsg)+`)`)

	shown, err := chromedp.Run(bctx, chromedp.Evaluate[[]string](`[...document.querySelectorAll('#blocks .messages li')].map(li => li.textContent)`))
	must(t, err)
	imgs, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('#blocks img, #tracked img, #pending img').length`))
	must(t, err)
	scripts, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelectorAll('body script').length`))
	must(t, err)
	pwned, err := chromedp.Run(bctx, chromedp.Evaluate[bool](`window.__pwned !== undefined`))
	must(t, err)
	screenshot, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
	must(t, err)
	found := false
	for _, s := range shown {
		if s == hostile {
			found = true
		}
	}
	if !found {
		t.Fatalf("the hostile message is not shown as text; blocks show %q", shown)
	}
	if imgs != 0 || scripts != 0 || pwned || dialogs.Load() != 0 {
		t.Fatalf("a message was interpreted as HTML: %d img, %d script, pwned %v, %d dialogs", imgs, scripts, pwned, dialogs.Load())
	}
	path := filepath.Join(artifactDir(t), "ui.png")
	must(t, os.WriteFile(path, screenshot, 0o644))
	t.Logf("screenshot: %s", path)
}

func jsString(s string) string {
	return "`" + strings.NewReplacer("\\", "\\\\", "`", "\\`", "$", "\\$").Replace(s) + "`"
}

// waitText waits until the element's text contains want.
func waitText(t *testing.T, ctx context.Context, sel, want string) {
	t.Helper()
	waitFor(t, ctx, `(document.querySelector(`+jsString(sel)+`) || {}).textContent?.includes(`+jsString(want)+`)`)
}

// waitFor polls a JavaScript condition for up to 30 s.
func waitFor(t *testing.T, ctx context.Context, cond string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		ok, err := chromedp.Run(ctx, chromedp.Evaluate[bool](`!!(`+cond+`)`))
		if err != nil {
			t.Fatal(err)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			html, _ := chromedp.Run(ctx, chromedp.OuterHTML(chromedp.CSS("body")))
			t.Fatalf("timed out waiting for %s; page:\n%.3000s", cond, html)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// The first hour in the browser: the Node card keeps the version once the
// live stream starts, the counter allows only what the node takes, a long
// message is collapsed, "Your messages" outlive a reload, and a stopped
// bc-serve leaves no stale "mining" on the page.
func TestBrowserUIFirstHour(t *testing.T) {
	bctx, _ := browser(t)
	n := nodetest.New(t).Node("hour", 14)
	n.Create()
	n.Start("bc-serve")
	must(t, chromedp.Do(bctx, chromedp.Navigate(n.URL()+"/"), chromedp.WaitVisible(chromedp.CSS(`#live`))))
	waitText(t, bctx, "#live", "live")
	version, err := chromedp.Run(bctx, chromedp.Evaluate[string](`[...document.querySelectorAll('#health dt')].find(dt => dt.textContent === 'version').nextElementSibling.textContent`))
	must(t, err)
	if version == "" || version == "–" {
		t.Fatalf("the Node card lost the version after the hello event: %q", version)
	}

	// The counter is in bytes and the button follows it.
	input := func(text string) (disabled, over bool, counter string) {
		t.Helper()
		type state struct {
			Disabled, Over bool
			Counter        string
		}
		s, err := chromedp.Run(bctx, chromedp.Evaluate[state](`(() => { const m = document.querySelector('#message'); m.value = `+jsString(text)+
			`; m.dispatchEvent(new Event('input')); const c = document.querySelector('#chars');
			return {Disabled: document.querySelector('#add-button').disabled, Over: c.classList.contains('error'), Counter: c.textContent}; })()`))
		must(t, err)
		return s.Disabled, s.Over, s.Counter
	}
	if d, o, c := input(strings.Repeat("é", 2049)); !d || !o || c != "4098 / 4096 bytes" {
		t.Fatalf("4098 bytes: disabled %v, over %v, counter %q", d, o, c)
	}
	if d, _, _ := input(" \n\t "); !d {
		t.Fatal("a blank message can be sent")
	}
	if d, o, c := input(strings.Repeat("é", 2048)); d || o || c != "4096 / 4096 bytes" {
		t.Fatalf("4096 bytes: disabled %v, over %v, counter %q", d, o, c)
	}

	// A long pending message is collapsed, and opens.
	long := strings.Repeat("0123456789 ", 360)
	n.Add(long)
	waitFor(t, bctx, `document.querySelector('#pending li button.more')`)
	shown, err := chromedp.Run(bctx, chromedp.Evaluate[int](`document.querySelector('#pending li .msg').textContent.length`))
	must(t, err)
	if shown > 300 {
		t.Fatalf("a message of %d characters shows %d before 'show more'", len(long), shown)
	}
	must(t, chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#pending li button.more`))))
	waitFor(t, bctx, `document.querySelector('#pending li .msg').textContent === `+jsString(long))

	// "Your messages" outlive a reload.
	_, _, _ = input("remember me")
	must(t, chromedp.Do(bctx, chromedp.Click(chromedp.CSS(`#add-button`)), chromedp.WaitVisible(chromedp.CSS(`#tracked li`))))
	must(t, chromedp.Do(bctx, chromedp.Reload(), chromedp.WaitVisible(chromedp.CSS(`#live`))))
	waitFor(t, bctx, `[...document.querySelectorAll('#tracked li .text')].some(s => s.textContent === 'remember me')`)
	waitText(t, bctx, "#tracked li .state", "pending")

	// bc-serve stops: the page says so, in the header and the Node card.
	n.Stop("bc-serve")
	waitText(t, bctx, "#status", "unreachable")
	waitText(t, bctx, "#health", "unreachable since")
	card, err := chromedp.Run(bctx, chromedp.Evaluate[string](`document.querySelector('#health').textContent`))
	must(t, err)
	if strings.Contains(card, "mining") || strings.Contains(card, "version") {
		t.Fatalf("the Node card shows stale values with bc-serve stopped: %q", card)
	}
}
