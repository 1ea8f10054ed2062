package cloudwatch

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/event"
	"github.com/logshipper/logshipper/internal/jsonx"
)

// Meta keys this source sets on every record (event.MetaLogSourceID too, in gateway mode).
const (
	MetaRegion    = "aws.region"
	MetaLogGroup  = "aws.log_group"
	MetaLogStream = "aws.log_stream"
)

// logEvent is what a record is built from: one FilterLogEvents event.
type logEvent struct {
	ID            string
	Timestamp     int64
	IngestionTime int64
	Stream        string
	Message       string
}

// builder turns events of one partition into records.
type builder struct {
	source   string
	region   string
	group    string
	extract  bool
	idents   *identifiers // nil: not a gateway log source
	defIdent string
}

// build returns the record of e. Its Raw is always one JSON object:
//   - extract on and a message that is a JSON object: the message bytes as they are;
//   - extract on and any other message: {"message":"<the message>"};
//   - extract off: the envelope {"logGroup","logStream","timestamp","ingestionTime","eventId","message"}.
func (b *builder) build(e *logEvent) *event.Record {
	var raw []byte
	if b.extract {
		if isJSONObject(e.Message) {
			raw = []byte(e.Message)
		} else {
			raw = make([]byte, 0, len(e.Message)+16)
			raw = append(raw, `{"message":`...)
			raw = jsonx.AppendString(raw, e.Message)
			raw = append(raw, '}')
		}
	} else {
		raw = b.envelope(e)
	}
	meta := make(map[string]string, 4)
	meta[MetaRegion] = b.region
	meta[MetaLogGroup] = b.group
	meta[MetaLogStream] = e.Stream
	if b.idents != nil {
		id, ok := b.idents.match(e.Message)
		if !ok {
			id = b.defIdent
			if id == "" {
				id = e.Stream
			}
		}
		meta[event.MetaLogSourceID] = id
	}
	return &event.Record{
		Raw:    raw,
		ID:     e.ID,
		Time:   time.UnixMilli(e.Timestamp).UTC(),
		Source: b.source,
		Meta:   meta,
	}
}

func (b *builder) envelope(e *logEvent) []byte {
	out := make([]byte, 0, len(e.Message)+len(b.group)+len(e.Stream)+len(e.ID)+128)
	out = append(out, `{"logGroup":`...)
	out = jsonx.AppendString(out, b.group)
	out = append(out, `,"logStream":`...)
	out = jsonx.AppendString(out, e.Stream)
	out = append(out, `,"timestamp":`...)
	out = strconv.AppendInt(out, e.Timestamp, 10)
	out = append(out, `,"ingestionTime":`...)
	out = strconv.AppendInt(out, e.IngestionTime, 10)
	out = append(out, `,"eventId":`...)
	out = jsonx.AppendString(out, e.ID)
	out = append(out, `,"message":`...)
	out = jsonx.AppendString(out, e.Message)
	return append(out, '}')
}

// isJSONObject reports whether s is exactly one JSON object (white space around it allowed).
func isJSONObject(s string) bool {
	t := strings.TrimSpace(s)
	if len(t) < 2 || t[0] != '{' || t[len(t)-1] != '}' {
		return false
	}
	return event.ValidObject(t)
}

// identifiers are the gateway's log-source identifier patterns, in order.
type identifiers struct {
	rules []identRule
}

type identRule struct {
	template string // the identifier, with $1 or \1 references to the pattern's groups
	re       *regexp.Regexp
	hasRefs  bool
}

var backslashRef = regexp.MustCompile(`\\([0-9])`)

// parseIdentifierPatterns reads `Identifier=regex` lines. Blank lines and lines starting with
// '#' are ignored. The identifier is what comes before the first '='; the regular expression
// (Go RE2 syntax) all after it; spaces around the '=' are ignored. `$1`, `${1}` and `\1` in the identifier are replaced with the
// pattern's capture groups.
func parseIdentifierPatterns(s string) (*identifiers, error) {
	ids := &identifiers{}
	var problems []string
	for n, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		name, expr, ok := strings.Cut(line, "=")
		name, expr = strings.TrimSpace(name), strings.TrimSpace(expr) // spaces around '=' are layout
		if !ok || name == "" || strings.TrimSpace(expr) == "" {
			problems = append(problems, fmt.Sprintf("line %d: %q is not Identifier=regex", n+1, line))
			continue
		}
		re, err := regexp.Compile(expr)
		if err != nil {
			problems = append(problems, fmt.Sprintf("line %d: %v", n+1, err))
			continue
		}
		tmpl := backslashRef.ReplaceAllString(name, `$${$1}`)
		tmpl = normalizeDollarRefs(tmpl)
		ids.rules = append(ids.rules, identRule{template: tmpl, re: re, hasRefs: strings.Contains(tmpl, "$")})
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("%s", strings.Join(problems, "; "))
	}
	return ids, nil
}

// normalizeDollarRefs turns $1 into ${1}, so that "$1_x" is group 1 followed by "_x" (Go's
// Expand would read a group named "1_x").
func normalizeDollarRefs(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '$' && i+1 < len(s) && s[i+1] >= '0' && s[i+1] <= '9' {
			j := i + 1
			for j < len(s) && s[j] >= '0' && s[j] <= '9' {
				j++
			}
			b.WriteString("${" + s[i+1:j] + "}")
			i = j - 1
			continue
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// match returns the identifier of the first pattern that matches msg.
func (ids *identifiers) match(msg string) (string, bool) {
	for i := range ids.rules {
		r := &ids.rules[i]
		if !r.hasRefs {
			if r.re.MatchString(msg) {
				return r.template, true
			}
			continue
		}
		m := r.re.FindStringSubmatchIndex(msg)
		if m == nil {
			continue
		}
		if id := r.re.ExpandString(nil, r.template, msg, m); len(id) > 0 {
			return string(id), true
		}
		return "", false // captures expanding to nothing: the default identifier
	}
	return "", false
}
