package syslog

import (
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/logshipper/logshipper/internal/event"
)

// The parsers below are written from the specifications, not from the encoder, and are strict:
// what the specification does not allow is an error, so an encoder bug shows as a parse error
// or as a value that does not come back.
//
//   - CEF: ArcSight "Implementing ArcSight CEF" rev. 25. CEF:0, six header fields, each ended by
//     an unescaped pipe; in the header a backslash escapes only a backslash or a pipe; the
//     extension is key=value pairs separated by a space, keys are words, a value runs to the
//     space before the next key; in a value a backslash escapes only \, =, n and r, and an
//     unescaped equals sign starts the next key.
//   - LEEF: IBM QRadar LEEF guide, version 2. LEEF:2.0|Vendor|Product|Version|EventID|Delimiter|
//     (the delimiter a character, or its hex code as x09 or 0x09; LEEF:1.0 has no delimiter
//     field and uses TAB); attributes key=value split on the delimiter, a pair at its first "=".
//     LEEF defines no escapes, so a backslash is an ordinary character and a pipe always ends a
//     header field.
//   - Both: a raw line break or control character (C0 but TAB, DEL, C1) is an error: a line
//     break ends a newline-framed message, and RFC 5424 §8.2 lets a receiver change control
//     characters (rsyslog writes "#033"), so a message holding one does not arrive as sent.

// cefMessage is a parsed CEF message.
type cefMessage struct {
	Header [7]string // CEF:0 version, vendor, product, version, class id, name, severity
	Ext    [][2]string
}

func (m cefMessage) get(k string) (string, bool) {
	for _, kv := range m.Ext {
		if kv[0] == k {
			return kv[1], true
		}
	}
	return "", false
}

// rawControl finds a byte no CEF or LEEF message may hold raw: a line break, a C0 control
// other than TAB, DEL, or a C1 control (U+0080-U+009F); -1 when there is none.
func rawControl(s string) int {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x20 && c != '\t' || c == 0x7f || c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f {
			return i
		}
	}
	return -1
}

// parseCEF parses a CEF message strictly.
func parseCEF(s string) (cefMessage, error) {
	var m cefMessage
	if i := rawControl(s); i >= 0 {
		return m, fmt.Errorf("raw control character %q at %d", s[i], i)
	}
	var cur []byte
	field := 0
	i := 0
	for ; i < len(s) && field < 7; i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s) && (s[i+1] == '\\' || s[i+1] == '|'):
			cur = append(cur, s[i+1])
			i++
		case c == '\\':
			return m, fmt.Errorf("header: a backslash that escapes neither \\ nor | at %d", i)
		case c == '|':
			m.Header[field] = string(cur)
			cur = cur[:0]
			field++
		default:
			cur = append(cur, c)
		}
	}
	if field < 7 {
		return m, fmt.Errorf("header has %d fields", field)
	}
	if m.Header[0] != "CEF:0" {
		return m, fmt.Errorf("not CEF:0: %q", m.Header[0])
	}
	ext := s[i:]
	if ext == "" {
		return m, nil
	}
	// Unescaped '=' positions.
	var eqs []int
	for j := 0; j < len(ext); j++ {
		if ext[j] == '\\' {
			j++
			continue
		}
		if ext[j] == '=' {
			eqs = append(eqs, j)
		}
	}
	if len(eqs) == 0 {
		return m, fmt.Errorf("extension %q has no key=value", ext)
	}
	keyStart := func(eq int) int {
		k := eq
		for k > 0 && isKeyByte(ext[k-1]) {
			k--
		}
		return k
	}
	if keyStart(eqs[0]) != 0 {
		return m, fmt.Errorf("extension %q does not start with a key", ext)
	}
	for n, eq := range eqs {
		ks := keyStart(eq)
		if ks == eq || (ks > 0 && ext[ks-1] != ' ') {
			return m, fmt.Errorf("extension: no key before '=' at %d in %q", eq, ext)
		}
		end := len(ext)
		if n+1 < len(eqs) {
			end = keyStart(eqs[n+1]) - 1
		}
		raw := ext[eq+1 : end]
		var v []byte
		for j := 0; j < len(raw); j++ {
			if raw[j] != '\\' {
				v = append(v, raw[j])
				continue
			}
			if j+1 == len(raw) {
				return m, fmt.Errorf("extension: value ends with a lone backslash")
			}
			j++
			switch raw[j] {
			case '\\', '=':
				v = append(v, raw[j])
			case 'n':
				v = append(v, '\n')
			case 'r':
				v = append(v, '\r')
			default:
				return m, fmt.Errorf("extension: unknown escape \\%c", raw[j])
			}
		}
		m.Ext = append(m.Ext, [2]string{ext[ks:eq], string(v)})
	}
	return m, nil
}

// leefMessage is a parsed LEEF message.
type leefMessage struct {
	Version string
	Header  [4]string // vendor, product, version, event id
	Delim   byte
	Attrs   [][2]string
}

func (m leefMessage) get(k string) (string, bool) {
	for _, kv := range m.Attrs {
		if kv[0] == k {
			return kv[1], true
		}
	}
	return "", false
}

// parseLEEF parses a LEEF 1.0 or 2.0 message strictly.
func parseLEEF(s string) (leefMessage, error) {
	var m leefMessage
	if i := rawControl(strings.ReplaceAll(s, "\t", " ")); i >= 0 {
		return m, fmt.Errorf("raw control character %q at %d", s[i], i)
	}
	rest, ok := strings.CutPrefix(s, "LEEF:")
	if !ok {
		return m, fmt.Errorf("not LEEF: %q", s)
	}
	fields := strings.SplitN(rest, "|", 7)
	m.Version = fields[0]
	switch {
	case m.Version == "1.0" && len(fields) >= 6:
		copy(m.Header[:], fields[1:5])
		m.Delim = '\t'
		rest = strings.Join(fields[5:], "|")
	case m.Version == "2.0" && len(fields) == 7:
		copy(m.Header[:], fields[1:5])
		d := fields[5]
		switch {
		case len(d) == 1:
			m.Delim = d[0]
		case strings.HasPrefix(d, "0x") || strings.HasPrefix(d, "x"):
			n, err := strconv.ParseUint(strings.TrimPrefix(strings.TrimPrefix(d, "0"), "x"), 16, 8)
			if err != nil {
				return m, fmt.Errorf("delimiter field %q: %v", d, err)
			}
			m.Delim = byte(n)
		default:
			return m, fmt.Errorf("delimiter field %q is neither a character nor a hex code", d)
		}
		rest = fields[6]
	default:
		return m, fmt.Errorf("LEEF:%s header with %d fields", m.Version, len(fields)-1)
	}
	if m.Delim != '\t' {
		if i := rawControl(rest); i >= 0 {
			return m, fmt.Errorf("raw control character %q in the attributes", rest[i])
		}
	}
	if rest == "" {
		return m, nil
	}
	for _, a := range strings.Split(rest, string(m.Delim)) {
		k, v, ok := strings.Cut(a, "=")
		if !ok || k == "" {
			return m, fmt.Errorf("attribute %q has no key", a)
		}
		for j := 0; j < len(k); j++ {
			if !isKeyByte(k[j]) {
				return m, fmt.Errorf("attribute key %q is not a word", k)
			}
		}
		m.Attrs = append(m.Attrs, [2]string{k, v})
	}
	return m, nil
}

// visible is what the formats carry of s: each control character (C0 but TAB, CR and LF; DEL;
// C1) as the text \xHH; CR and LF are changed too when crlf is not "" (to crlf).
func visible(s string, crlf string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case (c == '\r' || c == '\n') && crlf != "":
			b.WriteString(crlf)
		case c < 0x20 && c != '\t' && c != '\r' && c != '\n' || c == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, c)
		case c == 0xc2 && i+1 < len(s) && s[i+1] >= 0x80 && s[i+1] <= 0x9f:
			fmt.Fprintf(&b, `\x%02x`, s[i+1])
			i++
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// The values CEF and LEEF give back for a header field h and a value v.
func cefHeaderWant(h string) string { return visible(h, " ") }
func cefValueWant(v string) string  { return visible(v, "") }
func leefHeaderWant(h string) string {
	return visible(strings.ReplaceAll(h, "|", " "), " ")
}
func leefValueWant(v string, delim byte) string {
	return visible(strings.ReplaceAll(v, string(delim), " "), " ")
}

// controls are the seeds every escaping test and fuzz target starts from.
var controls = []string{"\x00", "\x1b[31m", "\a", "\v", "\f", "\x7f", "\u0085", "\u009b", "\x01\x1f", "\t", "\r\n"}

func TestCEFEscaping(t *testing.T) {
	cases := []struct{ name, in, header, value string }{
		{"plain", "abc", "abc", "abc"},
		{"pipe", "a|b", `a\|b`, "a|b"},
		{"backslash", `a\b`, `a\\b`, `a\\b`},
		{"equals", "a=b", "a=b", `a\=b`},
		{"newlines", "a\nb\rc", "a b c", `a\nb\rc`},
		{"all", `|\=` + "\n", `\|\\= `, `|\\\=\n`},
		{"unicode", "日本 😀", "日本 😀", "日本 😀"},
		{"NUL", "a\x00b", `a\\x00b`, `a\\x00b`},
		{"ESC", "\x1b[31mred", `\\x1b[31mred`, `\\x1b[31mred`},
		{"BEL VT FF", "\a\v\f", `\\x07\\x0b\\x0c`, `\\x07\\x0b\\x0c`},
		{"DEL", "a\x7f", `a\\x7f`, `a\\x7f`},
		{"C1", "a\u0085b\u009b", `a\\x85b\\x9b`, `a\\x85b\\x9b`},
		{"tab", "a\tb", "a\tb", "a\tb"},
		{"not C1", "é\u00a0", "é\u00a0", "é\u00a0"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(appendCEFHeader(nil, c.in)); got != c.header {
				t.Errorf("header %q: got %q, want %q", c.in, got, c.header)
			}
			if got := string(appendCEFValue(nil, []byte(c.in))); got != c.value {
				t.Errorf("value %q: got %q, want %q", c.in, got, c.value)
			}
		})
	}
}

func TestLEEFEscaping(t *testing.T) {
	cases := []struct{ name, in, header, tab, caret string }{
		{"plain", "abc", "abc", "abc", "abc"},
		{"pipe", "a|b", "a b", "a|b", "a|b"},
		{"backslash", `a\b`, `a\b`, `a\b`, `a\b`},
		{"equals", "a=b", "a=b", "a=b", "a=b"},
		{"newlines", "a\nb\rc", "a b c", "a b c", "a b c"},
		{"delimiters", "a\tb^c", "a\tb^c", "a b^c", "a\tb c"},
		{"NUL ESC", "\x00\x1b", `\x00\x1b`, `\x00\x1b`, `\x00\x1b`},
		{"BEL VT FF DEL", "\a\v\f\x7f", `\x07\x0b\x0c\x7f`, `\x07\x0b\x0c\x7f`, `\x07\x0b\x0c\x7f`},
		{"C1", "\u0085", `\x85`, `\x85`, `\x85`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := string(appendLEEFHeader(nil, c.in)); got != c.header {
				t.Errorf("header %q: got %q, want %q", c.in, got, c.header)
			}
			if got := string(appendLEEFValue(nil, []byte(c.in), '\t')); got != c.tab {
				t.Errorf("value %q, TAB: got %q, want %q", c.in, got, c.tab)
			}
			if got := string(appendLEEFValue(nil, []byte(c.in), '^')); got != c.caret {
				t.Errorf("value %q, ^: got %q, want %q", c.in, got, c.caret)
			}
		})
	}
}

// A pipe in a LEEF header field does not split the header: the vendor, product, version and
// event id come back as four fields.
func TestLEEFHeaderPipe(t *testing.T) {
	cfg := testConfig("127.0.0.1:514")
	cfg.Format = FormatLEEF
	e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
	r := asCloudTrail([]byte(`{"eventVersion":"1|2","eventTime":"2024-01-02T03:04:05Z","eventSource":"s3.amazonaws.com","eventName":"Get|Object\\x"}`))
	msg, err := e.message(nil, r)
	if err != nil {
		t.Fatal(err)
	}
	m, err := parseLEEF(msgOf(t, string(msg)))
	if err != nil {
		t.Fatalf("%v: %s", err, msg)
	}
	if want := [4]string{"AWS", "CloudTrail", "1 2", `Get Object\x`}; m.Header != want {
		t.Errorf("header %q, want %q (%s)", m.Header, want, msg)
	}
	if v, _ := m.get("act"); v != `Get|Object\x` {
		t.Errorf("act = %q", v)
	}
}

// cefRoundTrip encodes header and value the way the encoder does and parses them back.
func cefRoundTrip(t testing.TB, h, v string) {
	msg := appendCEFStart(nil, header{h, h, h, h, h, h})
	msg = append(msg, "k1="...)
	msg = appendCEFValue(msg, []byte(v))
	msg = append(msg, " k2="...)
	msg = appendCEFValue(msg, []byte(v))
	m, err := parseCEF(string(msg))
	if err != nil {
		t.Fatalf("%q does not parse: %v", msg, err)
	}
	wantH := cefHeaderWant(h)
	for i := 1; i < 7; i++ {
		if m.Header[i] != wantH {
			t.Fatalf("header %d = %q, want %q (message %q)", i, m.Header[i], wantH, msg)
		}
	}
	wantV := cefValueWant(v)
	if len(m.Ext) != 2 || m.Ext[0] != [2]string{"k1", wantV} || m.Ext[1] != [2]string{"k2", wantV} {
		t.Fatalf("extension = %q, want k1 and k2 = %q (message %q)", m.Ext, wantV, msg)
	}
}

func FuzzCEFEscape(f *testing.F) {
	f.Add("Netskope", "plain value")
	f.Add(`a|b\c`, `x=y\z`+"\n\r")
	f.Add("", " leading and trailing ")
	f.Add("k=v", " k3=v3 ")
	f.Add(`\`, `\`)
	for _, c := range controls {
		f.Add("h"+c+"|", c+`\`+c)
	}
	// Seeds from the golden output: every header and value of the CloudTrail samples.
	for _, raw := range pantherRecords(f, 5) {
		var m map[string]any
		_ = json.Unmarshal(raw, &m)
		for k, v := range m {
			f.Add(k, fmt.Sprint(v))
		}
	}
	f.Fuzz(func(t *testing.T, h, v string) {
		cefRoundTrip(t, h, v)
	})
}

func FuzzLEEFEscape(f *testing.F) {
	f.Add("IBM", "v\tw", byte('\t'))
	f.Add("a|b", "x^y=z\n", byte('^'))
	f.Add(`a\|b`, `\`, byte('^'))
	for _, c := range controls {
		f.Add("h"+c+"|", c+"|="+c, byte('\t'))
		f.Add(c, c+"^", byte('^'))
	}
	f.Fuzz(func(t *testing.T, h, v string, delim byte) {
		if delim != '\t' && (delim <= 0x20 || delim > 0x7e || delim == '|' || delim == '=' || delim == '\\' || isKeyByte(delim)) {
			return
		}
		msg := append([]byte("LEEF:2.0|"), appendLEEFHeader(nil, h)...)
		msg = append(msg, '|')
		msg = appendLEEFHeader(msg, h)
		msg = append(msg, "|1|E|"...)
		if delim == '\t' {
			msg = append(msg, "x09|"...)
		} else {
			msg = append(msg, delim, '|')
		}
		msg = append(msg, "k1="...)
		msg = appendLEEFValue(msg, []byte(v), delim)
		msg = append(msg, delim)
		msg = append(msg, "k2="...)
		msg = appendLEEFValue(msg, []byte(v), delim)
		m, err := parseLEEF(string(msg))
		if err != nil {
			t.Fatalf("%q does not parse: %v", msg, err)
		}
		wantH := leefHeaderWant(h)
		if m.Header != [4]string{wantH, wantH, "1", "E"} || m.Delim != delim {
			t.Fatalf("header %q delimiter %q, want %q twice, 1, E and %q (message %q)", m.Header, m.Delim, wantH, delim, msg)
		}
		wantV := leefValueWant(v, delim)
		if len(m.Attrs) != 2 || m.Attrs[0] != [2]string{"k1", wantV} || m.Attrs[1] != [2]string{"k2", wantV} {
			t.Fatalf("attributes %q, want k1 and k2 = %q (message %q)", m.Attrs, wantV, msg)
		}
	})
}

// FuzzValueRoundTrip: arbitrary values in a Netskope record and in a CloudTrail record, through
// the whole encoder (mapping, fast path, header), come back from the strict parsers as the
// formats carry them: a header field (the tenant, the event name) and extension values.
func FuzzValueRoundTrip(f *testing.F) {
	f.Add("tenant", "value", false)
	f.Add("a|b\\c", "x=y|z\\\n", true)
	for _, c := range controls {
		f.Add("t"+c, "v"+c+"=|\\", false)
		f.Add(c, c, true)
	}
	f.Fuzz(func(t *testing.T, h, v string, leef bool) {
		// The values as a JSON record carries them (invalid UTF-8 becomes U+FFFD).
		var hv [2]string
		b, _ := json.Marshal([2]string{h, v})
		_ = json.Unmarshal(b, &hv)
		h, v = hv[0], hv[1]
		if strings.TrimSpace(h) == "" || strings.TrimSpace(v) == "" {
			return // empty values are left out
		}
		cfg := testConfig("127.0.0.1:514")
		if leef {
			cfg.Format = FormatLEEF
		}
		e := newEncoder(cfg, "collector", nil, CloudTrailEnricher)
		ns, _ := json.Marshal(map[string]any{"user": v, "activity": v, "timestamp": 1700000000, "severity_level": 2})
		ct, _ := json.Marshal(map[string]any{"eventTime": "2024-01-02T03:04:05Z", "eventSource": "s3.amazonaws.com", "eventName": h,
			"userAgent": v, "userIdentity": map[string]any{"type": "IAMUser", "userName": v}})
		for _, c := range []struct {
			r          *event.Record
			head, want string // the header field that holds h, the keys that hold v
		}{
			{&event.Record{Raw: ns, Source: h, Kind: event.KindNetskopeEvent, Subtype: "audit", Time: time.Unix(1700000000, 0)}, "product", "suser act"},
			{asCloudTrail(ct), "event", "requestClientApplication suser"},
		} {
			msg, err := e.message(nil, c.r)
			if err != nil {
				t.Fatal(err)
			}
			body := msgOf(t, string(msg))
			if !leef {
				m, err := parseCEF(body)
				if err != nil {
					t.Fatalf("%v: %q", err, body)
				}
				at := map[string]int{"product": 2, "event": 4}[c.head]
				if m.Header[at] != cefHeaderWant(h) {
					t.Fatalf("header field %d = %q, want %q (%q)", at, m.Header[at], cefHeaderWant(h), body)
				}
				for _, k := range strings.Fields(c.want) {
					if got, _ := m.get(k); got != cefValueWant(v) {
						t.Fatalf("%s = %q, want %q (%q)", k, got, cefValueWant(v), body)
					}
				}
				continue
			}
			m, err := parseLEEF(body)
			if err != nil {
				t.Fatalf("%v: %q", err, body)
			}
			at := map[string]int{"product": 1, "event": 3}[c.head]
			if m.Header[at] != leefHeaderWant(h) {
				t.Fatalf("header field %d = %q, want %q (%q)", at, m.Header[at], leefHeaderWant(h), body)
			}
			for _, k := range strings.Fields(c.want) {
				if k == "suser" {
					k = "usrName"
				}
				if got, _ := m.get(k); got != leefValueWant(v, m.Delim) {
					t.Fatalf("%s = %q, want %q (%q)", k, got, leefValueWant(v, m.Delim), body)
				}
			}
		}
	})
}

// byteByByte writes s as the escapers do, judging every byte on its own: header (CEF or
// LEEF header rules) or value, CEF or LEEF (with delimiter delim). The escapers copy runs of
// ordinary bytes in one append; this is what they must agree with.
func byteByByte(s string, cef, header bool, delim byte) string {
	var dst []byte
	bs := `\`
	if cef {
		bs = `\\`
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !cef && !header && (c == delim || c == '\r' || c == '\n') {
			dst = append(dst, ' ')
			continue
		}
		if hh, n := control(s, i); n > 0 {
			dst = appendVisible(dst, hh, bs)
			i += n - 1
			continue
		}
		switch {
		case cef && (c == '\\' || c == '|' && header || c == '=' && !header):
			dst = append(dst, '\\', c)
		case cef && !header && c == '\n':
			dst = append(dst, `\n`...)
		case cef && !header && c == '\r':
			dst = append(dst, `\r`...)
		case header && (c == '\r' || c == '\n' || c == '|'):
			dst = append(dst, ' ')
		default:
			dst = append(dst, c)
		}
	}
	return string(dst)
}

// The escapers agree with byteByByte on every string of one and two bytes, alone and between
// ordinary text, and on the fuzz seeds of the round-trip tests.
func TestEscapersMatchByteByByte(t *testing.T) {
	var inputs []string
	for a := range 256 {
		inputs = append(inputs, string([]byte{byte(a)}))
		for b := range 256 {
			inputs = append(inputs, string([]byte{byte(a), byte(b)}))
		}
	}
	// Between ordinary text, at every place in an eight-byte word.
	for _, s := range inputs[:len(inputs):len(inputs)] {
		inputs = append(inputs, "ab"+s+"cd", "abcdefghij"+s+"klmnopqrstuvwxyz")
	}
	for a := range 256 {
		for p := range 17 {
			b := []byte("abcdefghijklmnopqrstuvwxyz")
			b[p] = byte(a)
			inputs = append(inputs, string(b))
			b[p+8] = 0xc2
			inputs = append(inputs, string(b))
		}
	}
	inputs = append(inputs, "", "a=b|c\\d\r\n\t\x00\x1b\u0085\u00a0日本", "\xc2", "x\xc2")
	for _, s := range inputs {
		check := func(name, got, want string) {
			if got != want {
				t.Fatalf("%s(%q) = %q; want %q", name, s, got, want)
			}
		}
		check("appendCEFHeader", string(appendCEFHeader(nil, s)), byteByByte(s, true, true, 0))
		check("appendCEFValue", string(appendCEFValue(nil, s)), byteByByte(s, true, false, 0))
		check("appendCEFValue([]byte)", string(appendCEFValue(nil, []byte(s))), byteByByte(s, true, false, 0))
		check("appendLEEFHeader", string(appendLEEFHeader(nil, s)), byteByByte(s, false, true, 0))
		for _, d := range []byte{'\t', '^', 0x01, 0xc2, 0x85} {
			check(fmt.Sprintf("appendLEEFValue(%#x)", d), string(appendLEEFValue(nil, s, d)), byteByByte(s, false, false, d))
		}
	}
}

// FuzzEscapersMatchByteByByte: the escapers agree with byteByByte on any input.
func FuzzEscapersMatchByteByByte(f *testing.F) {
	f.Add("a=b|c\\d\r\n\t\x00\x1b\u0085\u00a0日本 and some more text", byte('^'))
	f.Add("0123456789abcdef\xc2\x85", byte('\t'))
	f.Fuzz(func(t *testing.T, s string, delim byte) {
		for _, c := range []struct {
			name      string
			got, want string
		}{
			{"appendCEFHeader", string(appendCEFHeader(nil, s)), byteByByte(s, true, true, 0)},
			{"appendCEFValue", string(appendCEFValue(nil, s)), byteByByte(s, true, false, 0)},
			{"appendLEEFHeader", string(appendLEEFHeader(nil, s)), byteByByte(s, false, true, 0)},
			{"appendLEEFValue", string(appendLEEFValue(nil, []byte(s), delim)), byteByByte(s, false, false, delim)},
		} {
			if c.got != c.want {
				t.Fatalf("%s(%q, %#x) = %q; want %q", c.name, s, delim, c.got, c.want)
			}
		}
	})
}
