// Package jsonx holds the small JSON writing helpers the hot paths share, so that encoders that
// build JSON by appending bytes (mappings, the http destination, the CloudWatch envelope) escape
// strings one way.
package jsonx

import (
	"encoding/binary"
	"math/bits"
	"slices"
	"unicode/utf16"
	"unicode/utf8"
)

const hexDigits = "0123456789abcdef"

// shortEscape is the second byte of a character's two-byte escape; 0 where it has none (the
// other control characters take \u00XX).
var shortEscape = [utf8.RuneSelf]byte{'"': '"', '\\': '\\', '\n': 'n', '\r': 'r', '\t': 't', '\b': 'b', '\f': 'f'}

// AppendString appends s as a JSON string. Like encoding/json it replaces invalid UTF-8 with
// U+FFFD and escapes U+2028 and U+2029; unlike it, it leaves <, > and & alone (no HTML
// escaping: the output is not meant for a web page, and SIEMs search for those characters).
//
// It is on every hot path (mappings, eventData inside PutAuditEvents, syslog JSON), so it
// works eight bytes at a time: a word of plain ASCII is stored with one write into room
// reserved ahead; a word with something to escape is stored too, and only its clean prefix
// kept. Room for the rest of s unescaped is kept reserved at all times, and an escape that
// writes more bytes than it reads first makes sure of its own.
func AppendString(dst []byte, s string) []byte {
	n := len(dst)
	b := slices.Grow(dst, len(s)+len(s)/16+16)
	b = b[:cap(b)]
	b[n] = '"'
	n++
	// Invariant at the top of the loop: cap(b)-n >= len(s)-i+9 (the rest of s, one word's
	// overshoot, the closing quote).
	i := 0
	for i < len(s) {
		if i+8 <= len(s) {
			w := binary.LittleEndian.Uint64(stringWord(s, i))
			binary.LittleEndian.PutUint64(b[n:], w)
			m := (special(w) | w) & msb
			if m == 0 {
				n += 8
				i += 8
				continue
			}
			k := bits.TrailingZeros64(m) / 8
			n += k
			i += k
		} else if c := s[i]; c >= 0x20 && c < utf8.RuneSelf && c != '"' && c != '\\' {
			b[n] = c
			n++
			i++
			continue
		}
		// s[i] needs attention: an escape, or the start of a multi-byte character. Every
		// case reads at least one byte and writes at most five more than it reads.
		if cap(b)-n < len(s)-i+14 {
			b = slices.Grow(b[:n], len(s)-i+len(s)/4+64)
			b = b[:cap(b)]
		}
		c := s[i]
		if c < utf8.RuneSelf {
			if e := shortEscape[c]; e != 0 {
				b[n], b[n+1] = '\\', e
				n += 2
			} else {
				n += copy(b[n:], `\u00`)
				b[n], b[n+1] = hexDigits[c>>4], hexDigits[c&0xF]
				n += 2
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == utf8.RuneError && size == 1:
			n += copy(b[n:], `\ufffd`)
		case r == '\u2028' || r == '\u2029':
			n += copy(b[n:], `\u202`)
			b[n] = hexDigits[r&0xF]
			n++
		default:
			n += copy(b[n:], s[i:i+size])
		}
		i += size
	}
	b[n] = '"'
	return b[:n+1]
}

// stringWord returns the eight bytes of s at i without copying s (the compiler keeps the
// array on the stack and merges the loads into one).
func stringWord(s string, i int) []byte {
	var a [8]byte
	copy(a[:], s[i:i+8])
	return a[:]
}

// AppendUnescaped appends the decoded body of a JSON string (what lies between its quotes)
// that was already checked (escapes well formed, no control character), exactly as
// encoding/json decodes it: escapes resolved, surrogate pairs joined, lone surrogates and
// invalid UTF-8 replaced by U+FFFD.
func AppendUnescaped(dst, body []byte) []byte {
	for i := 0; i < len(body); {
		c := body[i]
		switch {
		case c == '\\':
			i++
			switch body[i] {
			case 'b':
				dst = append(dst, '\b')
			case 'f':
				dst = append(dst, '\f')
			case 'n':
				dst = append(dst, '\n')
			case 'r':
				dst = append(dst, '\r')
			case 't':
				dst = append(dst, '\t')
			case 'u':
				r := hex4(body[i+1:])
				i += 4
				if utf16.IsSurrogate(r) {
					r2 := utf8.RuneError
					if i+6 < len(body) && body[i+1] == '\\' && body[i+2] == 'u' {
						r2 = hex4(body[i+3:])
					}
					if dec := utf16.DecodeRune(r, r2); dec != utf8.RuneError {
						r = dec
						i += 6
					} else {
						r = utf8.RuneError
					}
				}
				dst = utf8.AppendRune(dst, r)
			default: // '"', '\\', '/'
				dst = append(dst, body[i])
			}
			i++
		case c < utf8.RuneSelf:
			// A run of plain bytes is copied at once.
			j := i + 1
			for j < len(body) && body[j] != '\\' && body[j] < utf8.RuneSelf {
				j++
			}
			dst = append(dst, body[i:j]...)
			i = j
		default:
			r, n := utf8.DecodeRune(body[i:])
			if r == utf8.RuneError && n == 1 {
				dst = append(dst, "\uFFFD"...)
			} else {
				dst = append(dst, body[i:i+n]...)
			}
			i += n
		}
	}
	return dst
}

// hex4 reads four hex digits already checked.
func hex4(b []byte) rune {
	var r rune
	for _, c := range b[:4] {
		switch {
		case c >= '0' && c <= '9':
			c -= '0'
		case c >= 'a' && c <= 'f':
			c = c - 'a' + 10
		default:
			c = c - 'A' + 10
		}
		r = r<<4 | rune(c)
	}
	return r
}
