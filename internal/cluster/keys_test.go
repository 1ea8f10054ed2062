package cluster

import (
	"regexp"
	"strings"
	"testing"
)

// kvToken is one token of a valid key-value key.
var kvToken = regexp.MustCompile(`\A[-/_=a-zA-Z0-9]+\z`)

func TestEscapeRoundTrip(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", "="},
		{"abc", "abc"},
		{"us-east-1/aws-cloudtrail-logs", "us-east-1/aws-cloudtrail-logs"},
		{"a.b", "a=2Eb"},
		{"=", "=3D"},
		{"=3D", "=3D3D"},
		{"a b*>", "a=20b=2A=3E"},
		{"é", "=C3=A9"},
		{"\x00\xff", "=00=FF"},
	}
	for _, tc := range tests {
		got := escape(tc.in)
		if got != tc.want {
			t.Errorf("escape(%q) = %q; want %q", tc.in, got, tc.want)
		}
		if !kvToken.MatchString(got) || strings.Contains(got, ".") {
			t.Errorf("escape(%q) = %q is not one key token", tc.in, got)
		}
		back, err := unescape(got)
		if err != nil || back != tc.in {
			t.Errorf("unescape(%q) = %q, %v; want %q", got, back, err, tc.in)
		}
	}
}

func TestUnescapeRejectsMalformed(t *testing.T) {
	for _, tok := range []string{"a=", "a=4", "=zz", "=4g", "x=3d"} {
		if got, err := unescape(tok); err == nil {
			t.Errorf("unescape(%q) = %q, nil; want an error", tok, got)
		}
	}
}

func TestWinnerIsStableAndSpread(t *testing.T) {
	members := []string{"a", "b", "c"}
	count := map[string]int{}
	for i := range 300 {
		key := "src/" + strings.Repeat("k", i%7) + string(rune('a'+i%26)) + string(rune('0'+i%10)) + string(rune(i))
		w := winner(members, key)
		if w2 := winner([]string{"c", "a", "b"}, key); w2 != w {
			t.Fatalf("winner depends on member order: %s vs %s", w, w2)
		}
		count[w]++
		// Removing a member that does not win the key does not move it.
		for _, gone := range members {
			if gone == w {
				continue
			}
			var rest []string
			for _, m := range members {
				if m != gone {
					rest = append(rest, m)
				}
			}
			if got := winner(rest, key); got != w {
				t.Fatalf("key %q moved from %s to %s when %s left", key, w, got, gone)
			}
		}
	}
	for _, m := range members {
		if count[m] < 50 {
			t.Errorf("member %s wins %d of 300 keys; want a fair share: %v", m, count[m], count)
		}
	}
}
