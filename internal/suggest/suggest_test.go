package suggest

import "testing"

func TestDistance(t *testing.T) {
	for _, c := range []struct {
		a, b string
		want int
	}{
		{"", "", 0}, {"abc", "", 3}, {"", "ab", 2}, {"name", "name", 0},
		{"nmae", "name", 1}, {"nam", "name", 1}, {"nmae", "map", 2}, {"kitten", "sitting", 3},
		{"$adn", "$and", 1},
	} {
		if got := Distance(c.a, c.b); got != c.want {
			t.Errorf("Distance(%q, %q) = %d, want %d", c.a, c.b, got, c.want)
		}
	}
}

func TestClosest(t *testing.T) {
	known := []string{"name", "map", "paths", "path"}
	for word, want := range map[string]string{
		"nmae": "name", "NAME": "name", "pathz": "paths", "pahts": "paths", "zzzzzz": "", "": "",
	} {
		if got := Closest(word, known); got != want {
			t.Errorf("Closest(%q) = %q, want %q", word, got, want)
		}
	}
}
