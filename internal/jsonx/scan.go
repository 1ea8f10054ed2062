package jsonx

import (
	"encoding/binary"
	"math/bits"
)

// Word-at-a-time scanning: eight bytes are tested at once for the bytes a JSON string scanner
// must stop at, with the borrow tricks of "bit twiddling hacks". A test may also flag a byte
// above the first real match (a borrow runs upward), never below it, so the lowest flagged
// byte is always the first match.
const (
	lsb = 0x0101010101010101
	msb = 0x8080808080808080
)

// special flags, in each byte's top bit, the bytes of w that are '"', '\\' or below 0x20.
func special(w uint64) uint64 {
	q := w ^ ('"' * lsb)
	bs := w ^ ('\\' * lsb)
	return ((q - lsb) &^ q) | ((bs - lsb) &^ bs) | ((w - 0x20*lsb) &^ w)
}

// StringStop returns the index of the first byte of b at or after i that ends a run of plain
// string content: a quote, a backslash or a control character; len(b) if there is none. Bytes
// of 0x80 and above are plain here (UTF-8 is checked, when it must be, elsewhere).
func StringStop(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		if m := special(binary.LittleEndian.Uint64(b[i:])) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 {
			return i
		}
	}
	return i
}

// ASCIIStop is StringStop that also stops at a byte of 0x80 or above (the start of a
// multi-byte character).
func ASCIIStop(b []byte, i int) int {
	for ; i+8 <= len(b); i += 8 {
		w := binary.LittleEndian.Uint64(b[i:])
		if m := (special(w) | w) & msb; m != 0 {
			return i + bits.TrailingZeros64(m)/8
		}
	}
	for ; i < len(b); i++ {
		if c := b[i]; c == '"' || c == '\\' || c < 0x20 || c >= 0x80 {
			return i
		}
	}
	return i
}
