package file

import (
	"bufio"
	"bytes"
	"io"
	"testing"
)

// FuzzReadLine: reading any input line by line, through a buffer smaller than a line, consumes
// every byte once; a line within the limit comes back whole (newline included when there is
// one), and a longer one is flagged and cut to its first limit bytes.
func FuzzReadLine(f *testing.F) {
	f.Add([]byte("{\"a\":1}\n{\"b\":2}\n"), uint8(10))
	f.Add([]byte("0123456789abcdefghij\nshort\n\nlast without newline"), uint8(4))
	f.Add([]byte("\r\n\n0123456789012345\n01234567890123456"), uint8(16))
	f.Add([]byte(""), uint8(0))
	f.Fuzz(func(t *testing.T, in []byte, lim uint8) {
		limit := int(lim)
		br := bufio.NewReaderSize(bytes.NewReader(in), 16) // the smallest bufio allows
		rest := in
		for {
			line, n, tooLong, complete, err := readLine(br, limit)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if n == 0 {
				if len(rest) != 0 || complete {
					t.Fatalf("nothing read, %d bytes left, complete %v", len(rest), complete)
				}
				return
			}
			seg := rest
			if i := bytes.IndexByte(rest, '\n'); i >= 0 {
				seg = rest[:i+1]
			}
			if n != len(seg) || complete != (seg[len(seg)-1] == '\n') {
				t.Fatalf("read %d bytes (complete %v) of the segment %q", n, complete, seg)
			}
			content := bytes.TrimSuffix(seg, []byte("\n"))
			switch {
			case len(content) <= limit:
				if tooLong || !bytes.Equal(line, seg) {
					t.Fatalf("limit %d: line %q (too long %v), want %q", limit, line, tooLong, seg)
				}
			default:
				if !tooLong || !bytes.Equal(line, seg[:limit]) {
					t.Fatalf("limit %d: line %q (too long %v), want the first %d bytes of %q flagged", limit, line, tooLong, limit, seg)
				}
			}
			rest = rest[n:]
		}
	})
}

// readLine at the limit, through a 16-byte buffer: the newline does not count toward the
// limit, so a last line without one that is a byte over is flagged too long; a line cut at a
// buffer boundary keeps exactly limit bytes; and a line already cut consumes its newline when
// the newline comes alone in the next read. n is always every byte of the input.
func TestReadLineLimit(t *testing.T) {
	for _, c := range []struct {
		name, in string
		limit    int
		line     string
		tooLong  bool
		complete bool
	}{
		{"fits with newline", "0123\n", 4, "0123\n", false, true},
		{"fits without newline", "0123", 4, "0123", false, false},
		{"one over without newline", "01234", 4, "0123", true, false},
		{"one over with newline", "01234\n", 4, "0123", true, true},
		{"one over across the buffer", "0123456789abcdefg\n", 15, "0123456789abcde", true, true},
		{"far over", "0123456789abcdefghijklmnopqrstuvwxyz", 5, "01234", true, false},
		{"cut, then its newline alone", "0000000000000000\n", 9, "000000000", true, true}, // testdata/fuzz/FuzzReadLine/3ce32ebdd249a645
	} {
		t.Run(c.name, func(t *testing.T) {
			br := bufio.NewReaderSize(bytes.NewReader([]byte(c.in)), 16)
			line, n, tooLong, complete, err := readLine(br, c.limit)
			if err != nil && err != io.EOF {
				t.Fatal(err)
			}
			if string(line) != c.line || n != len(c.in) || tooLong != c.tooLong || complete != c.complete {
				t.Fatalf("readLine = %q, %d, too long %v, complete %v; want %q, %d, %v, %v", line, n, tooLong, complete, c.line, len(c.in), c.tooLong, c.complete)
			}
		})
	}
}
