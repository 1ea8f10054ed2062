package syslog

import "unicode/utf8"

// Control characters. Neither CEF nor LEEF defines an escape for a control character other than
// a line break, and RFC 5424 §8.2 tells senders to avoid them (a receiver may change them, as
// rsyslog does into "#033"). So C0 controls other than TAB, CR and LF, DEL (0x7F), and C1 controls
// (U+0080-U+009F) are written as the visible text \xHH (two hex digits, as Cloud Exchange's
// unicode_escape writes them), in headers and values of both formats; that text then follows the
// format's own rules (CEF escapes its backslash). TAB is data in CEF and LEEF (LEEF's default
// delimiter is TAB, where it becomes a space like any delimiter); CR and LF follow each format's
// line-break rule below.

// control reports whether s[i:] starts with a control character written as \xHH: its code
// point (hh) and how many bytes it takes (n, 0 when it is none).
func control[T string | []byte](s T, i int) (hh byte, n int) {
	switch c := s[i]; {
	case c < 0x20 && c != '\t' && c != '\r' && c != '\n', c == 0x7f:
		return c, 1
	case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f:
		return s[i+1], 2 // U+0080-U+009F in UTF-8
	}
	return 0, 0
}

const hexDigits = "0123456789abcdef"

// appendVisible appends the text \xHH, with its backslash written as bs (CEF: `\\`).
func appendVisible(dst []byte, hh byte, bs string) []byte {
	dst = append(dst, bs...)
	return append(dst, 'x', hexDigits[hh>>4], hexDigits[hh&0xf])
}

// CEF (ArcSight "Implementing ArcSight CEF", rev. 25, "CEF:0 Header" and "Character
// Encoding"): "If a pipe (|) is used in the header, it has to be escaped with a backslash";
// "If a backslash (\) is used in the header or the extension, it has to be escaped with another
// backslash"; "If an equal sign (=) is used in the extensions, it has to be escaped with a
// backslash"; pipes in the extension and equal signs in the header need no escaping;
// "Multi-line fields can be sent by CEF by encoding the newline character as \n or \r", and
// "multiple lines are only allowed in the value part of the extensions". So:
//   - header fields: \\ and \|; CR and LF become a space;
//   - extension values: \\, \=, \n and \r; a pipe is not escaped;
//   - extension keys are letters, digits and underscores (the dictionary's keys, cs1Label ...);
//   - control characters: \xHH (above), its backslash escaped: \\xHH.

// appendCEFHeader appends s as a CEF header field.
func appendCEFHeader(dst []byte, s string) []byte {
	for i := 0; ; {
		j := plainRun(s, i, &cefHeaderSpecial)
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			return dst
		}
		if hh, n := control(s, j); n > 0 {
			dst = appendVisible(dst, hh, `\\`)
			i = j + n
			continue
		}
		switch c := s[j]; c {
		case '\\', '|':
			dst = append(dst, '\\', c)
		case '\r', '\n':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
		i = j + 1
	}
}

// appendCEFValue appends s as a CEF extension value.
func appendCEFValue[T string | []byte](dst []byte, s T) []byte {
	for i := 0; ; {
		j := plainRun(s, i, &cefValueSpecial)
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			return dst
		}
		if hh, n := control(s, j); n > 0 {
			dst = appendVisible(dst, hh, `\\`)
			i = j + n
			continue
		}
		switch c := s[j]; c {
		case '\\', '=':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
		i = j + 1
	}
}

// The bytes each writer looks at one by one; it copies the runs between them as they are.
// Each table marks the C0 controls (TAB among them, for LEEF, whose delimiter it may be), DEL,
// 0xC2 (the first byte of a C1 control in UTF-8) and the format's own characters.
var (
	cefHeaderSpecial  = specialBytes(`\|`)
	cefValueSpecial   = specialBytes(`\=`)
	leefHeaderSpecial = specialBytes("|")
	leefValueSpecial  = specialBytes("")
)

func specialBytes(own string) (t [256]bool) {
	for c := range 0x20 {
		t[c] = true
	}
	t[0x7f], t[0xc2] = true, true
	for i := range len(own) {
		t[own[i]] = true
	}
	return t
}

// plainRun returns the index of the first byte of s at or after i that t marks, or len(s).
func plainRun[T string | []byte](s T, i int, t *[256]bool) int {
	for i < len(s) && !t[s[i]] {
		i++
	}
	return i
}

// appendKey appends the letters, digits and underscores of a key (CEF and LEEF keys are
// words); other characters are left out.
func appendKey(dst []byte, k string) []byte {
	for i := 0; i < len(k); i++ {
		if c := k[i]; isKeyByte(c) {
			dst = append(dst, c)
		}
	}
	return dst
}

func isKeyByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_'
}

// LEEF (IBM QRadar "Log Event Extended Format (LEEF)" version 2, "LEEF event components" and
// "Best practices guidelines for LEEF events"): the header is a set of values delimited by
// pipes, LEEF:2.0|Vendor|Product|Version|EventID|DelimiterCharacter|, and the attributes are
// key=value pairs separated by the delimiter the header declares (a character, or its hex value
// as x09 or 0x09; LEEF 1.0: TAB). LEEF defines no escape at all, neither in the header nor in
// values: a backslash is an ordinary character, and the guide asks that tab, pipe and caret
// delimiters be avoided in keys and values. QRadar splits the header on every pipe and the
// attributes on every delimiter, so what would split them is replaced:
//   - header fields: a pipe, CR and LF become a space; a backslash is kept as it is;
//   - attribute values: the delimiter, CR and LF become a space; an equals sign is kept
//     (QRadar splits a pair at its first "="), and so is a pipe;
//   - control characters: \xHH (above), the backslash as it is.

// appendLEEFHeader appends s as a LEEF header field.
func appendLEEFHeader(dst []byte, s string) []byte {
	for i := 0; ; {
		j := plainRun(s, i, &leefHeaderSpecial)
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			return dst
		}
		if hh, n := control(s, j); n > 0 {
			dst = appendVisible(dst, hh, `\`)
			i = j + n
			continue
		}
		c := s[j]
		if c == '|' || c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
		i = j + 1
	}
}

// appendLEEFValue appends s as a LEEF attribute value with delimiter delim.
func appendLEEFValue[T string | []byte](dst []byte, s T, delim byte) []byte {
	for i := 0; ; {
		j := i
		for j < len(s) && !leefValueSpecial[s[j]] && s[j] != delim {
			j++
		}
		dst = append(dst, s[i:j]...)
		if j == len(s) {
			return dst
		}
		c := s[j]
		if c == delim || c == '\r' || c == '\n' {
			dst = append(dst, ' ')
			i = j + 1
			continue
		}
		if hh, n := control(s, j); n > 0 {
			dst = appendVisible(dst, hh, `\`)
			i = j + n
			continue
		}
		dst = append(dst, c)
		i = j + 1
	}
}

// RFC 5424 §6.3.3: inside a PARAM-VALUE, '"', '\' and ']' are escaped with a backslash. The
// value has no escape for a line break, which would end a newline-framed message, so CR, LF and
// the control characters are written as the text \xHH, its backslash escaped.
func appendSDValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if hh, n := control(s, i); n > 0 {
			dst = appendVisible(dst, hh, `\\`)
			i += n - 1
			continue
		}
		switch c := s[i]; c {
		case '"', '\\', ']':
			dst = append(dst, '\\', c)
		case '\r', '\n':
			dst = appendVisible(dst, c, `\\`)
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendHeaderToken appends s as an RFC 5424/3164 header field: PRINTUSASCII (33-126) only,
// other bytes become '_', at most max bytes; empty is the NILVALUE "-".
func appendHeaderToken(dst []byte, s string, max int) []byte {
	if s == "" {
		return append(dst, '-')
	}
	if len(s) > max {
		s = s[:max]
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 33 || c > 126 {
			c = '_'
		}
		dst = append(dst, c)
	}
	return dst
}

// truncate cuts msg to at most max bytes without splitting a UTF-8 character or leaving a
// lone escaping backslash at the end.
func truncate(msg []byte, max int) []byte {
	if len(msg) <= max {
		return msg
	}
	cut := max
	for cut > 0 && !utf8.RuneStart(msg[cut]) {
		cut--
	}
	msg = msg[:cut]
	n := 0
	for i := len(msg) - 1; i >= 0 && msg[i] == '\\'; i-- {
		n++
	}
	if n%2 == 1 {
		msg = msg[:len(msg)-1]
	}
	return msg
}
