package cmdline

import (
	"fmt"
	"strings"
	"unicode/utf8"
)

// Width is the terminal width bc's human output fits in.
const Width = 80

// Wrap breaks text into lines of at most width characters, at spaces; a
// word longer than width (a path, a hash) stands alone on its line.
func Wrap(text string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(text) {
		switch {
		case line == "":
			line = word
		case utf8.RuneCountInString(line)+1+utf8.RuneCountInString(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	if line != "" || len(lines) == 0 {
		lines = append(lines, line)
	}
	return lines
}

// Shorten cuts s to at most n characters, ending with "…" when cut.
func Shorten(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:max(n-1, 0)]) + "…"
}

// Count is "1 block", "2 blocks": a number and its noun, in the plural
// unless it is one.
func Count[N ~int | ~int64 | ~uint64](n N, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprint(n) + " " + noun + "s"
}
