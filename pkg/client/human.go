package client

import (
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bc-chain/bc/pkg/chain"
	"github.com/bc-chain/bc/pkg/cmdline"
	"github.com/bc-chain/bc/pkg/node"
)

// bc-get on a terminal: tables and key/value lines that fit cmdline.Width
// columns, times as cmdline says (local, the zone in the header), every
// string from the node made printable. w is a tabwriter with a padding of
// two spaces.
const pad = 2

// printHuman renders an answer as a table or key/value lines.
func printHuman(w io.Writer, what string, raw []byte) error {
	switch what {
	case "chain":
		return printChain(w, raw)
	case "neighbours", "neighbors":
		return printNeighbours(w, raw)
	case "data":
		return printData(w, raw)
	case "block":
		return printBlock(w, raw)
	case "status":
		return printStatus(w, raw)
	default:
		return printHealth(w, raw)
	}
}

const (
	hashWidth = 13 // 12 hex digits and "…"
	idWidth   = 36 // a message id
)

func printChain(w io.Writer, raw []byte) error {
	var doc struct {
		Chain  []chain.Block `json:"chain"`
		Length int           `json:"length"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return fmt.Errorf("decode /chain: %w", err)
	}
	indexWidth := len("INDEX")
	if n := len(doc.Chain); n > 0 {
		indexWidth = max(indexWidth, len(strconv.FormatUint(doc.Chain[n-1].Index, 10)))
	}
	msgWidth := cmdline.Width - (indexWidth + pad) - (len(cmdline.TimeLayout) + pad) - (hashWidth + pad)
	fmt.Fprintf(w, "INDEX\t%s\tHASH\tMESSAGES\n", cmdline.TimeHeader())
	for _, b := range doc.Chain {
		fmt.Fprintf(w, "%d\t%s\t%s\t%s\n", b.Index, cmdline.TableTime(b.Time()), shortHash(b.Hash.String()), messages(b.Data, msgWidth))
	}
	fmt.Fprintf(w, "(%s)\n", cmdline.Count(uint64(doc.Length), "block"))
	return nil
}

func printNeighbours(w io.Writer, raw []byte) error {
	var doc struct {
		Neighbours []string `json:"neighbours"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	if len(doc.Neighbours) == 0 {
		fmt.Fprintln(w, "(no neighbours)")
	}
	for _, n := range doc.Neighbours {
		fmt.Fprintln(w, printable(n))
	}
	return nil
}

func printData(w io.Writer, raw []byte) error {
	var doc struct {
		Data []struct {
			ID       string `json:"id"`
			Message  string `json:"message"`
			Received int64  `json:"received"`
		} `json:"data"`
		Length    int  `json:"length"`
		Truncated bool `json:"truncated"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		return err
	}
	msgWidth := cmdline.Width - (idWidth + pad) - (len(cmdline.TimeLayout) + pad)
	fmt.Fprintf(w, "ID\tRECEIVED %s\tMESSAGE\n", strings.TrimPrefix(cmdline.TimeHeader(), "TIME "))
	for _, d := range doc.Data {
		fmt.Fprintf(w, "%s\t%s\t%s\n", printable(d.ID), cmdline.TableTime(time.UnixMilli(d.Received)), oneLine(d.Message, msgWidth))
	}
	shown := ""
	if doc.Truncated {
		shown = fmt.Sprintf(", the oldest %d shown", len(doc.Data))
	}
	fmt.Fprintf(w, "(%s pending%s)\n", cmdline.Count(uint64(doc.Length), "message"), shown)
	return nil
}

func printBlock(w io.Writer, raw []byte) error {
	var b chain.Block
	if err := json.Unmarshal(raw, &b); err != nil {
		return err
	}
	fmt.Fprintf(w, "index\t%d\ntime\t%s\nhash\t%s\nprevious\t%s\nproof\t%d\n", b.Index, cmdline.Time(b.Time()), b.Hash, b.PrevHash, b.Proof)
	if b.Params != nil {
		fmt.Fprintf(w, "params\tnetwork %s, strategy %s, difficulty %d\n", printable(b.Params.Network), printable(b.Params.Strategy), b.Params.Difficulty)
	}
	fmt.Fprintf(w, "messages\t%d\n", len(b.Data))
	// Each message on lines of its own: an id, then its text wrapped.
	for _, m := range b.Data {
		fmt.Fprintf(w, "\n  %s\n", printable(m.ID))
		for _, line := range strings.Split(m.Text, "\n") {
			for _, part := range cmdline.Wrap(printable(line), cmdline.Width-4) {
				fmt.Fprintf(w, "    %s\n", part)
			}
		}
	}
	return nil
}

func printStatus(w io.Writer, raw []byte) error {
	var st Status
	if err := json.Unmarshal(raw, &st); err != nil {
		return err
	}
	if st.Status == "mined" && st.Block != nil {
		fmt.Fprintf(w, "%s\tin block %d (%s)\n", printable(st.ID), *st.Block, cmdline.Count(st.Confirmations, "confirmation"))
	} else {
		fmt.Fprintf(w, "%s\t%s\n", printable(st.ID), printable(st.Status))
	}
	return nil
}

// health is /health as bc-get shows it (see pkg/api).
type health struct {
	Status     string  `json:"status"`
	Reason     string  `json:"reason"`
	Height     uint64  `json:"height"`
	Tip        string  `json:"tip"`
	Genesis    string  `json:"genesis"`
	Network    string  `json:"network"`
	Strategy   string  `json:"strategy"`
	Difficulty int     `json:"difficulty"`
	Peers      int     `json:"peers"`
	Pending    int     `json:"pending"`
	Uptime     float64 `json:"uptime_seconds"`
	Miner      *struct {
		Running  bool    `json:"running"`
		HashRate float64 `json:"hash_rate"`
		Blocks   uint64  `json:"blocks_mined"`
	} `json:"miner"`
	Gossip  *node.GossipStatus `json:"gossip"`
	Version string             `json:"version"`
	NodeID  string             `json:"node_id"`
}

// printHealth shows /health as a few lines, each a sentence of numbers.
func printHealth(w io.Writer, raw []byte) error {
	var h health
	if err := json.Unmarshal(raw, &h); err != nil {
		return err
	}
	row := func(key, text string) {
		lines := cmdline.Wrap(printable(text), cmdline.Width-len("version")-pad)
		fmt.Fprintf(w, "%s\t%s\n", key, lines[0])
		for _, l := range lines[1:] {
			fmt.Fprintf(w, "\t%s\n", l)
		}
	}
	row("status", h.Status)
	if h.Reason != "" {
		row("reason", h.Reason)
	}
	if h.Genesis != "" {
		row("chain", fmt.Sprintf("height %d, tip %s, genesis %s", h.Height, shortHash(h.Tip), shortHash(h.Genesis)))
		row("rules", fmt.Sprintf("network %s, strategy %s, difficulty %d", h.Network, h.Strategy, h.Difficulty))
	}
	row("pending", cmdline.Count(uint64(h.Pending), "message"))
	row("peers", cmdline.Count(uint64(h.Peers), "neighbour"))
	switch m := h.Miner; {
	case m == nil:
		row("miner", "none (no bc-mine on this directory)")
	case m.Running:
		row("miner", fmt.Sprintf("running, %s, %s", hashRate(m.HashRate), cmdline.Count(m.Blocks, "block")+" mined"))
	default:
		row("miner", fmt.Sprintf("stopped, %s", cmdline.Count(m.Blocks, "block")+" mined"))
	}
	switch g := h.Gossip; {
	case g == nil:
		row("gossip", "none (no bc-gossip on this directory)")
	default:
		state := "running"
		if !g.Running {
			state = "stopped"
		}
		text := fmt.Sprintf("%s, %d of %s reachable, %s adopted, %s", state, g.Reachable, cmdline.Count(uint64(g.Neighbours), "neighbour"),
			cmdline.Count(g.BlocksAdopted, "block"), cmdline.Count(g.Reorgs, "reorg"))
		if g.LastSync > 0 {
			text += ", last sync " + cmdline.Time(time.UnixMilli(g.LastSync))
		}
		row("gossip", text)
		if g.Unreachable != "" {
			row("failing", g.Unreachable)
		}
	}
	if h.Uptime > 0 {
		row("uptime", (time.Duration(h.Uptime * float64(time.Second))).Round(time.Second).String())
	}
	if h.Version != "" {
		row("version", h.Version)
	}
	if h.NodeID != "" {
		row("node id", h.NodeID)
	}
	return nil
}

// hashRate says attempts per second with an SI prefix.
func hashRate(r float64) string {
	switch {
	case r >= 1e9:
		return fmt.Sprintf("%.1f G attempts/s", r/1e9)
	case r >= 1e6:
		return fmt.Sprintf("%.1f M attempts/s", r/1e6)
	case r >= 1e3:
		return fmt.Sprintf("%.1f k attempts/s", r/1e3)
	default:
		return fmt.Sprintf("%.0f attempts/s", r)
	}
}

func shortHash(h string) string { return cmdline.Shorten(printable(h), hashWidth) }

// messages fills a table cell of width with the messages of a block,
// quoted, the count first when there are several.
func messages(ms []chain.Message, width int) string {
	if len(ms) == 0 {
		return "–"
	}
	parts := make([]string, len(ms))
	for i, m := range ms {
		parts[i] = strconv.Quote(cmdline.Shorten(m.Text, 60))
	}
	text := strings.Join(parts, ", ")
	if len(ms) > 1 {
		text = strconv.Itoa(len(ms)) + ": " + text
	}
	return cmdline.Shorten(printable(text), width)
}

// oneLine keeps a message on its table row, in width characters.
func oneLine(s string, width int) string {
	s = strings.NewReplacer("\n", `\n`, "\r", `\r`, "\t", `\t`).Replace(s)
	return cmdline.Shorten(printable(s), width)
}

// printable escapes what a node sends that a terminal would act on rather
// than show: control characters (ESC starts the sequences that move the
// cursor, rewrite the title or the screen), invisible formatting
// characters such as bidi overrides, and invalid UTF-8. A hostile node
// cannot write to the user's terminal through bc-get.
func printable(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError && !strings.HasPrefix(s[i:], "\uFFFD"):
			fmt.Fprintf(&b, `\x%02x`, s[i])
		case r < 0x20 || r == 0x7f || r >= 0x80 && r < 0xa0 || unicode.Is(unicode.Cf, r):
			fmt.Fprintf(&b, `\u%04x`, r)
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}
