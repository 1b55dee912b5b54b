package cmdline

import (
	"regexp"
	"testing"
	"time"
)

func TestZoneIsAnOffset(t *testing.T) {
	at := time.Date(2026, 12, 2, 7, 41, 10, 0, time.UTC)
	for _, c := range []struct {
		loc  *time.Location
		want string
	}{
		{time.UTC, "UTC"},
		{time.FixedZone("CET", 3600), "UTC+01:00"},
		{time.FixedZone("NST", -(3*3600 + 1800)), "UTC-03:30"},
	} {
		if got := Zone(at.In(c.loc)); got != c.want {
			t.Errorf("Zone in %s = %q, want %q", c.loc, got, c.want)
		}
	}
	if got := Time(at); got[len(got)-len(Zone(at.Local())):] != Zone(at.Local()) || len(got) < len(TimeLayout) {
		t.Errorf("Time = %q", got)
	}
}

func TestWrapAndShorten(t *testing.T) {
	got := Wrap("SHA-256 of the whole block header (the block hash) starts with <difficulty> zero bits", 30)
	want := []string{"SHA-256 of the whole block", "header (the block hash) starts", "with <difficulty> zero bits"}
	if len(got) != len(want) {
		t.Fatalf("Wrap = %q", got)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("Wrap = %q, want %q", got, want)
		}
	}
	if got := Wrap("/a/very/long/path/that/does/not/fit x", 10); got[0] != "/a/very/long/path/that/does/not/fit" || got[1] != "x" {
		t.Fatalf("a long word: %q", got)
	}
	if got := Shorten("ééééé", 3); got != "éé…" {
		t.Fatalf("Shorten = %q", got)
	}
	if got := Shorten("abc", 3); got != "abc" {
		t.Fatalf("Shorten = %q", got)
	}
}

func TestVersionString(t *testing.T) {
	v := VersionString()
	if !regexp.MustCompile(`^\d+\.\d+\.\d+ \((commit [0-9a-f]{12}( with changes)?, )?go[^ ]+ [a-z0-9]+/[a-z0-9]+\)$`).MatchString(v) {
		t.Fatalf("VersionString = %q", v)
	}
}
