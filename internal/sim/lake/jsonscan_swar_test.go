package lake

import (
	"encoding/binary"
	"testing"
)

func TestSWAR(t *testing.T) {
	for b := 0; b < 256; b++ {
		for pos := 0; pos < 8; pos++ {
			var buf [8]byte
			for i := range buf {
				buf[i] = 'a'
			}
			buf[pos] = byte(b)
			x := binary.LittleEndian.Uint64(buf[:])
			stop := b == '"' || b == '\\' || b < 0x20
			if got := hasStringStop(x); got != stop {
				t.Errorf("hasStringStop(byte %#x at %d) = %v", b, pos, got)
			}
			if stop || b >= 0x80 {
				// The first of two matches is found exactly, whatever follows it.
				for _, after := range []byte{'a', '"', 0x01, 0xff, 0x00} {
					buf2 := buf
					for j := pos + 1; j < 8; j++ {
						buf2[j] = after
					}
					if got := firstMatch(decodeStopMask(binary.LittleEndian.Uint64(buf2[:]))); got != pos {
						t.Errorf("firstMatch(byte %#x at %d, then %#x) = %d", b, pos, after, got)
					}
				}
			}
			esc := b == '\\' || b >= 0x80
			if got := hasEscapeOrHigh(x); got != esc {
				t.Errorf("hasEscapeOrHigh(byte %#x at %d) = %v", b, pos, got)
			}
		}
	}
}
