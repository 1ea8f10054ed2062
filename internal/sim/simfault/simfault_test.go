package simfault

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
)

func TestBoxSetGet(t *testing.T) {
	var b Box[struct{ Rate float64 }]
	if got := b.Get(); got.Rate != 0 {
		t.Fatalf("zero Box: %v", got)
	}
	b.Set(struct{ Rate float64 }{0.5})
	if got := b.Get(); got.Rate != 0.5 {
		t.Fatalf("Get after Set(0.5) = %v", got)
	}
}

// The same seed draws the same faults; another salt, another sequence; rate 0 draws nothing.
func TestRandSeeded(t *testing.T) {
	a, b, c := NewRand(7, 1), NewRand(7, 1), NewRand(7, 2)
	same, other := true, false
	for range 20 {
		x, y, z := a.Float64(), b.Float64(), c.Float64()
		same = same && x == y
		other = other || x != z
	}
	if !same || !other {
		t.Fatalf("seed 7: same sequence %v (want true), another salt differs %v (want true)", same, other)
	}
	r1, r2 := NewRand(9, 1), NewRand(9, 1)
	for range 10 {
		if r1.Hit(0) {
			t.Fatal("Hit(0) = true")
		}
	}
	if r1.Float64() != r2.Float64() {
		t.Fatal("Hit(0) drew from the source")
	}
	if !NewRand(1, 1).Hit(1) {
		t.Fatal("Hit(1) = false")
	}
}

// Delay adds the slow delay to the share of requests its rate says, and draws nothing when
// no slow delay is set.
func TestDelay(t *testing.T) {
	r := NewRand(3, 1)
	if d, slowed := r.Delay(5, 0, 1); d != 5 || slowed {
		t.Fatalf("no slow delay: %v %v", d, slowed)
	}
	if d, slowed := r.Delay(5, 10, 1); d != 15 || !slowed {
		t.Fatalf("rate 1: %v %v", d, slowed)
	}
	if d, slowed := r.Delay(5, 10, 0); d != 5 || slowed {
		t.Fatalf("rate 0: %v %v", d, slowed)
	}
}

// A cut answer announces the whole body, sends half and drops the connection: the client
// reads an unexpected EOF.
func TestWriteCut(t *testing.T) {
	body := []byte("0123456789")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		WriteCut(w, body)
	}))
	defer srv.Close()
	resp, err := http.Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	got, err := io.ReadAll(resp.Body)
	if err == nil || string(got) != "01234" {
		t.Fatalf("read %q, %v; want %q and an error", got, err, "01234")
	}
}
