package jsonx

import "unicode/utf8"

// JSON text is UTF-8 (RFC 8259 §8.1). The shipper's policy for input that is not: every source
// repairs a record's invalid bytes at the source, each byte that does not belong to a valid
// UTF-8 sequence becoming U+FFFD, the value encoding/json (and AppendUnescaped) decodes such a
// byte to. The repaired record says what every JSON reader already read from the original, is
// still one JSON text of the same shape (in a record that is valid JSON, bytes of 0x80 and above
// occur only inside strings), and every destination receives valid UTF-8. Sources count each
// repaired record (plugin.Repairs).

// replacement is U+FFFD in UTF-8.
const replacement = "\uFFFD"

// RepairUTF8 returns b itself and -1 when b is valid UTF-8 (one utf8.Valid pass, nothing
// allocated). Otherwise it returns a new slice holding b with each byte that is not part of a
// valid UTF-8 sequence replaced by U+FFFD, and the offset in b of the first such byte.
func RepairUTF8(b []byte) (out []byte, first int) {
	if utf8.Valid(b) {
		return b, -1
	}
	return AppendRepairedUTF8(make([]byte, 0, len(b)+16), b)
}

// AppendRepairedUTF8 appends b to dst with each byte that is not part of a valid UTF-8 sequence
// replaced by U+FFFD, and returns the offset in b of the first such byte (-1 when none).
func AppendRepairedUTF8(dst, b []byte) (out []byte, first int) {
	first = -1
	for i := 0; i < len(b); {
		if b[i] < utf8.RuneSelf {
			// A run of ASCII is copied at once.
			j := i + 1
			for j < len(b) && b[j] < utf8.RuneSelf {
				j++
			}
			dst = append(dst, b[i:j]...)
			i = j
			continue
		}
		r, n := utf8.DecodeRune(b[i:])
		if r == utf8.RuneError && n == 1 {
			if first < 0 {
				first = i
			}
			dst = append(dst, replacement...)
		} else {
			dst = append(dst, b[i:i+n]...)
		}
		i += n
	}
	return dst, first
}

// RepairUTF8String is RepairUTF8 for a string (an id or a name read out of a record).
func RepairUTF8String(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	out, _ := AppendRepairedUTF8(make([]byte, 0, len(s)+16), []byte(s))
	return string(out)
}
