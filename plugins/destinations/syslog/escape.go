package syslog

import "unicode/utf8"

// CEF (ArcSight "Implementing ArcSight CEF", rev. 25):
//   - header fields: a backslash and a pipe are escaped with a backslash (\\, \|); a header
//     cannot hold a line break, so CR and LF become a space;
//   - extension values: a backslash, an equals sign and line breaks are escaped (\\, \=, \n,
//     \r); a pipe is not;
//   - extension keys are letters, digits and underscores (the dictionary's keys, cs1Label ...).

// appendCEFHeader appends s as a CEF header field.
func appendCEFHeader(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '\\', '|':
			dst = append(dst, '\\', c)
		case '\r', '\n':
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return dst
}

// appendCEFValue appends s as a CEF extension value.
func appendCEFValue(dst []byte, s []byte) []byte {
	for _, c := range s {
		switch c {
		case '\\', '=':
			dst = append(dst, '\\', c)
		case '\n':
			dst = append(dst, '\\', 'n')
		case '\r':
			dst = append(dst, '\\', 'r')
		default:
			dst = append(dst, c)
		}
	}
	return dst
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

// LEEF 2.0 (IBM QRadar "Log Event Extended Format" v2): the header is pipe-delimited, and
// attributes are key=value pairs separated by the delimiter the header declares. LEEF defines
// no escape for the delimiter inside a value, and QRadar splits on it, so:
//   - header fields: a backslash and a pipe are escaped with a backslash, CR and LF become a
//     space (as in CEF);
//   - attribute values: the delimiter, CR and LF become a space; an equals sign is kept (QRadar
//     splits a pair at its first "=").

// appendLEEFHeader appends s as a LEEF header field.
func appendLEEFHeader(dst []byte, s string) []byte { return appendCEFHeader(dst, s) }

// appendLEEFValue appends s as a LEEF attribute value with delimiter delim.
func appendLEEFValue(dst []byte, s []byte, delim byte) []byte {
	for _, c := range s {
		if c == delim || c == '\r' || c == '\n' {
			c = ' '
		}
		dst = append(dst, c)
	}
	return dst
}

// RFC 5424 §6.3.3: inside a PARAM-VALUE, '"', '\' and ']' are escaped with a backslash.
func appendSDValue(dst []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		switch c := s[i]; c {
		case '"', '\\', ']':
			dst = append(dst, '\\', c)
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
