// Package suggest finds the known word a user probably meant ("did you mean ...?"), for the
// configuration loader, the rule compilers and plugins' own validation.
package suggest

import "strings"

// Closest returns the candidate nearest to word, compared case-insensitively, when it is close
// enough to be a typo (at most two edits); "" otherwise. Candidates are lower-case names; ties
// go to the earlier candidate.
func Closest(word string, candidates []string) string {
	w := strings.ToLower(word)
	best, bestD := "", 3
	for _, c := range candidates {
		if d := Distance(w, c); d < bestD {
			best, bestD = c, d
		}
	}
	return best
}

// Distance is the Levenshtein distance between a and b with a swap of two adjacent characters
// counted as one edit (optimal string alignment), as it is the commonest typo: "nmae" is one
// edit from "name", not two (which would tie with "map").
func Distance(a, b string) int {
	prev2 := make([]int, len(b)+1) // row i-2
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && a[i-1] == b[j-2] && a[i-2] == b[j-1] {
				cur[j] = min(cur[j], prev2[j-2]+1)
			}
		}
		prev2, prev, cur = prev, cur, prev2
	}
	return prev[len(b)]
}
