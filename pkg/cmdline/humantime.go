package cmdline

import (
	"fmt"
	"time"
)

// How bc shows a time to a person, everywhere (tables, bc-get block, the
// web UI): local time as TimeLayout, the zone said once, in a table's
// header (TimeHeader) or after a time that stands alone (Time). JSON
// carries Unix milliseconds.
const TimeLayout = "2006-01-02 15:04:05"

// Zone names t's zone by its offset: "UTC", or "UTC+01:00".
func Zone(t time.Time) string {
	_, off := t.Zone()
	if off == 0 {
		return "UTC"
	}
	sign := '+'
	if off < 0 {
		sign, off = '-', -off
	}
	return fmt.Sprintf("UTC%c%02d:%02d", sign, off/3600, off%3600/60)
}

// TimeHeader is the header of a table's time column: the zone the column
// is in.
func TimeHeader() string { return "TIME (" + Zone(time.Now()) + ")" }

// TableTime is a time in a table column (local, no zone: the header has it).
func TableTime(t time.Time) string { return t.Local().Format(TimeLayout) }

// Time is a time standing alone, with its zone.
func Time(t time.Time) string {
	t = t.Local()
	return t.Format(TimeLayout) + " " + Zone(t)
}
