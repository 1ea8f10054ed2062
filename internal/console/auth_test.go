package console

import (
	"testing"

	"golang.org/x/crypto/bcrypt"

	"github.com/logshipper/logshipper/internal/config"
)

func TestUnknownUserIsCheckedAtTheUsersHighestCost(t *testing.T) {
	hashAt := func(cost int) config.Secret {
		h, err := bcrypt.GenerateFromPassword([]byte("pw"), cost)
		if err != nil {
			t.Fatal(err)
		}
		return config.NewSecret(string(h))
	}
	for _, tc := range []struct {
		name  string
		costs []int
		want  int
	}{
		{"one user", []int{bcrypt.MinCost}, bcrypt.MinCost},
		{"the highest of several", []int{bcrypt.MinCost, bcrypt.MinCost + 2, bcrypt.MinCost + 1}, bcrypt.MinCost + 2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := testConfig(t)
			cfg.Users = nil
			for i, c := range tc.costs {
				cfg.Users = append(cfg.Users, User{Name: string(rune('a' + i)), PasswordHash: hashAt(c), Role: RoleViewer})
			}
			s, err := New(cfg, newFakeBackend(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got, err := bcrypt.Cost(s.dummyHash())
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.want {
				t.Errorf("the unknown user's hash has cost %d, want %d (the users' highest)", got, tc.want)
			}
		})
	}
}

func TestSameToken(t *testing.T) {
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"a-long-enough-console-token", "a-long-enough-console-token", true},
		{"a-long-enough-console-token", "a-long-enough-console-tokeN", false},
		{"a-long-enough-console-token", "a-long-enough-console-token-and-more", false},
		{"a-long-enough-console-token", "a", false},
		{"", "", false},
		{"x", "", false},
	} {
		if got := sameToken(tc.a, tc.b); got != tc.want {
			t.Errorf("sameToken(%q, %q) = %v, want %v", tc.a, tc.b, got, tc.want)
		}
	}
}
