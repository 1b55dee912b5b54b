package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"text/tabwriter"
	"time"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/node"
)

// nodeFlags are the flags both clients share.
type nodeFlags struct {
	Node    string        `help:"Node to talk to: host:port, host (port 12345) or http://host:port (default: the node serving --dir, else localhost:12345)." env:"BC_NODE" placeholder:"ADDR"`
	Dir     string        `help:"Chain directory of the node to talk to: the address its bc-serve listens on is read from there." env:"BC_DIR" placeholder:"DIR" type:"path"`
	Timeout time.Duration `help:"Timeout of each request." default:"10s" env:"BC_TIMEOUT"`
}

// client returns a client of the node the flags name.
func (f *nodeFlags) client() (*Client, error) {
	addr := f.Node
	if addr == "" && f.Dir != "" {
		st, err := node.ReadServeStatusAt(f.Dir)
		if err != nil {
			return nil, fmt.Errorf("--dir %s: %w (give --node)", f.Dir, err)
		}
		addr = st.URL
	}
	if addr == "" {
		addr = "localhost:12345"
	}
	return New(addr, f.Timeout)
}

// AddCLI is bc-add's command line.
type AddCLI struct {
	cmdline.Common
	nodeFlags
	Messages []string      `arg:"" optional:"" name:"message" help:"Messages to add, one per argument; none reads one per line from stdin."`
	Wait     bool          `help:"Wait until each message is in a block and print the block's index after its id."`
	WaitFor  time.Duration `help:"How long --wait waits." default:"2m"`
}

// AddMain runs bc-add and returns its exit code.
func AddMain(args []string) int {
	var c AddCLI
	return cmdline.Main(cmdline.Program{Name: "bc-add", Description: c.Description(),
		Grammar: &c, Common: &c.Common}, args, c.run)
}

// Description says what bc-add does (--help, the man page).
func (*AddCLI) Description() string {
	return "Add messages to a bc node (the seed's `blockchain add`); prints each message's id."
}

func (c *AddCLI) run(ctx context.Context, env *cmdline.Env) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	out := bufio.NewWriter(env.Stdout)
	defer out.Flush()
	var refused int
	seedNoted := false
	add := func(msg string) error {
		// The id is made here, bound to the text: the node must answer with
		// it, and a retry of the same message cannot store it twice.
		res, err := cl.Add(ctx, msg, chain.NewMessageID(msg))
		if err != nil {
			if ExitCode(err) == cmdline.ExitFailed {
				refused++
				fmt.Fprintf(env.Stderr, "bc-add: %q refused: %v\n", cmdline.Shorten(msg, 40), err)
				return nil
			}
			return wrap(err)
		}
		if res.Seed {
			// A seed node makes its own ids and cannot say where a message
			// is: nothing to print, nothing to wait for.
			if !seedNoted {
				fmt.Fprintf(env.Stderr, "bc-add: %s is a node of the seed (the Python system), not a bc node: it took the message but gives no id to follow\n", cl.base)
				seedNoted = true
			}
			if c.Wait {
				return cmdline.Failed(fmt.Errorf("--wait cannot follow a message on a node of the seed"))
			}
			return nil
		}
		if !c.Wait {
			fmt.Fprintln(out, res.ID)
			return out.Flush()
		}
		block, err := c.waitMined(ctx, cl, res.ID)
		if err != nil {
			return wrap(err)
		}
		fmt.Fprintf(out, "%s\t%d\n", res.ID, block)
		return out.Flush()
	}
	if len(c.Messages) > 0 {
		for _, m := range c.Messages {
			if err := add(m); err != nil {
				return err
			}
		}
	} else {
		sc := bufio.NewScanner(env.Stdin)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		for sc.Scan() {
			if sc.Text() == "" {
				continue
			}
			if err := add(sc.Text()); err != nil {
				return err
			}
		}
		if err := sc.Err(); err != nil {
			return fmt.Errorf("read stdin: %w", err)
		}
	}
	if refused > 0 {
		return cmdline.Failed(fmt.Errorf("the node refused %d message(s)", refused))
	}
	return nil
}

func (c *AddCLI) waitMined(ctx context.Context, cl *Client, id string) (uint64, error) {
	deadline := time.Now().Add(c.WaitFor)
	for {
		st, err := cl.MessageStatus(ctx, id)
		if err == nil && st.Status == "mined" && st.Block != nil {
			return *st.Block, nil
		}
		if time.Now().After(deadline) {
			return 0, fmt.Errorf("message %s is not in a block after %v", id, c.WaitFor)
		}
		select {
		case <-time.After(200 * time.Millisecond):
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
}

// GetCLI is bc-get's command line.
type GetCLI struct {
	cmdline.Common
	nodeFlags
	What []string `arg:"" name:"what" help:"chain | neighbours | data | health | block N|HASH | status ID" completion:"chain,neighbours,data,health,block,status"`
	JSON bool     `help:"Print JSON even on a terminal (it is the default when stdout is not one)."`
}

// GetMain runs bc-get and returns its exit code.
func GetMain(args []string) int {
	var c GetCLI
	return cmdline.Main(cmdline.Program{Name: "bc-get", Description: c.Description(),
		Grammar: &c, Common: &c.Common}, args, c.run)
}

// Description says what bc-get does (--help, the man page).
func (*GetCLI) Description() string {
	return "Read from a bc node (the seed's `blockchain get`): JSON for pipes, tables on a terminal. `bc-get chain | bc-verify` verifies a node's chain."
}

func (c *GetCLI) run(ctx context.Context, env *cmdline.Env) error {
	cl, err := c.client()
	if err != nil {
		return err
	}
	human := !c.JSON && cmdline.IsTerminal(env.Stdout)
	what, args := c.What[0], c.What[1:]
	want := func(n int, usage string) error {
		if len(args) != n {
			return fmt.Errorf("usage: bc-get %s", usage)
		}
		return nil
	}
	var path, usage string
	switch what {
	case "chain":
		path, usage = "/chain", "chain"
	case "neighbours", "neighbors":
		path, usage = "/neighbours", "neighbours"
	case "data":
		path, usage = "/data", "data"
	case "health":
		path, usage = "/health", "health"
	case "block":
		if err := want(1, "block N|HASH"); err != nil {
			return err
		}
		if _, err := strconv.ParseUint(args[0], 10, 63); err != nil && !validHash(args[0]) {
			return fmt.Errorf("block %q: want a height or a 64-digit hash", args[0])
		}
		path = "/blocks/" + args[0]
	case "status":
		if err := want(1, "status ID"); err != nil {
			return err
		}
		path = "/data/" + args[0]
	default:
		return fmt.Errorf("unknown %q: want chain, neighbours, data, health, block N or status ID", what)
	}
	if usage != "" {
		if err := want(0, usage); err != nil {
			return err
		}
	}
	if what == "chain" && !human {
		return wrap(c.stream(ctx, cl, env.Stdout))
	}
	raw, err := cl.getRaw(ctx, path)
	var ae *APIError
	if err != nil && !(what == "health" && errors.As(err, &ae) && ae.Code == http.StatusServiceUnavailable) {
		return wrap(err)
	}
	if what == "health" && err != nil {
		// A node that is not healthy still says why: show it, exit 1.
		raw = ae.Body
		if !json.Valid(raw) {
			raw, _ = json.Marshal(map[string]string{"status": "unavailable", "reason": ae.Message})
		}
	}
	if !human {
		_, werr := env.Stdout.Write(raw)
		if err != nil {
			return wrap(err)
		}
		return werr
	}
	out := tabwriter.NewWriter(env.Stdout, 0, 4, 2, ' ', 0)
	defer out.Flush()
	if perr := printHuman(out, what, raw); perr != nil {
		return perr
	}
	return wrap(err)
}

// stream copies /chain to w without holding it in memory.
func (c *GetCLI) stream(ctx context.Context, cl *Client, w io.Writer) error {
	slow := &http.Client{Transport: cl.http.Transport} // no overall timeout: chains can be long
	streaming := &Client{base: cl.base, http: slow}
	resp, err := streaming.do(ctx, http.MethodGet, "/chain", nil, "")
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, err = io.Copy(w, resp.Body)
	return err
}

func validHash(s string) bool {
	_, err := chain.ParseHash(s)
	return err == nil
}
