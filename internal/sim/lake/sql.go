package lake

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"
)

// The SQL that StartQuery runs: the subset of CloudTrail Lake's SQL that checks what a channel
// received, as Netskope Cloud Exchange's documentation does after setup
// (SELECT eventData FROM <event data store id> WHERE eventTime >= '…', or
// WHERE eventData.eventSource = '…'):
//
//	SELECT <columns> | * | COUNT(*) [AS alias]
//	FROM <event data store id>
//	[WHERE <column> <op> <literal> [AND <column> <op> <literal>]...]
//	[ORDER BY <column> [ASC|DESC]]
//	[LIMIT <n>]
//
// Keywords and column names are case-insensitive. A column is eventData, eventData.<member>
// (nested members with more dots), eventID, eventTime, awsRegion, recipientAccountId,
// eventCategory, eventType, metadata.channelArn or metadata.ingestionTime, each optionally
// followed by AS <alias>. <op> is one of = != <> < <= > >=; a literal is a quoted string
// ('' inside for a quote) or a number, and may be preceded by TIMESTAMP. eventTime and
// metadata.ingestionTime compare as times (the literal as 2006-01-02 15:04:05[.fff], RFC 3339
// or a date), everything else as text; a member that is absent or null matches nothing, as a
// SQL NULL. Anything else is refused with InvalidQueryStatementException naming what is
// supported.

// queryForms is what an unsupported statement's error message says cloudsim runs.
const queryForms = "cloudsim runs SELECT <columns> | * | COUNT(*) FROM <event data store id> " +
	"[WHERE <column> <op> '<value>' [AND ...]] [ORDER BY <column> [ASC|DESC]] [LIMIT <n>], " +
	"with columns eventData, eventData.<member>, eventID, eventTime, awsRegion, recipientAccountId, " +
	"eventCategory, eventType, metadata.channelArn, metadata.ingestionTime and operators = != <> < <= > >="

// lakeTimeLayout is how a timestamp column is shown in query results.
const lakeTimeLayout = "2006-01-02 15:04:05.000"

// sqlQuery is a parsed statement.
type sqlQuery struct {
	from    string
	count   bool // SELECT COUNT(*): one row, one column
	columns []outColumn
	where   []condition
	orderBy *column
	desc    bool
	limit   int // 0: no limit
}

type outColumn struct {
	col  column
	name string // the name in the result rows
}

// column reads one value of a stored event. ok is false for a SQL NULL.
type column struct {
	name   string // as written
	isTime bool
	text   func(ev *StoredEvent) (string, bool)
	time   func(ev *StoredEvent) time.Time // isTime only
}

type condition struct {
	col column
	op  string
	lit string
	t   time.Time // the literal as a time, for a time column
}

// match reports whether ev satisfies the condition.
func (c condition) match(ev *StoredEvent) bool {
	var cmp int
	if c.col.isTime {
		cmp = c.col.time(ev).Compare(c.t)
	} else {
		v, ok := c.col.text(ev)
		if !ok {
			return false
		}
		cmp = strings.Compare(v, c.lit)
	}
	switch c.op {
	case "=":
		return cmp == 0
	case "!=", "<>":
		return cmp != 0
	case "<":
		return cmp < 0
	case "<=":
		return cmp <= 0
	case ">":
		return cmp > 0
	case ">=":
		return cmp >= 0
	}
	return false
}

// starColumns are what SELECT * returns.
var starColumns = []string{"eventID", "eventTime", "eventCategory", "eventType", "awsRegion", "recipientAccountId", "eventData"}

// resolveColumn returns the column a name refers to.
func resolveColumn(name string) (column, error) {
	lower := strings.ToLower(name)
	c := column{name: name}
	constant := func(v string) func(*StoredEvent) (string, bool) {
		return func(*StoredEvent) (string, bool) { return v, true }
	}
	switch lower {
	case "eventdata":
		c.text = func(ev *StoredEvent) (string, bool) {
			if len(ev.EventData) == 0 {
				return "", false
			}
			return string(ev.EventData), true
		}
	case "eventid":
		c.text = func(ev *StoredEvent) (string, bool) { return ev.EventID, true }
	case "eventtime":
		c.isTime = true
		c.time = func(ev *StoredEvent) time.Time { return ev.EventTime }
	case "metadata.ingestiontime":
		c.isTime = true
		c.time = func(ev *StoredEvent) time.Time { return ev.ReceivedAt }
	case "awsregion":
		c.text = func(ev *StoredEvent) (string, bool) { return ev.Region, true }
	case "recipientaccountid":
		c.text = func(ev *StoredEvent) (string, bool) { return ev.Account, true }
	case "metadata.channelarn":
		c.text = func(ev *StoredEvent) (string, bool) { return ev.ChannelARN, true }
	case "eventcategory":
		c.text = constant("ActivityAuditLog")
	case "eventtype":
		c.text = constant("ActivityLog")
	default:
		path, ok := strings.CutPrefix(lower, "eventdata.")
		if !ok || path == "" || slices.Contains(strings.Split(path, "."), "") {
			return column{}, fmt.Errorf("unknown column %q", name)
		}
		// Members are matched case-insensitively, as the column names of the SQL schema.
		parts := strings.Split(path, ".")
		c.text = func(ev *StoredEvent) (string, bool) { return memberText(ev.EventData, parts) }
	}
	if c.isTime {
		c.text = func(ev *StoredEvent) (string, bool) { return c.time(ev).UTC().Format(lakeTimeLayout), true }
	}
	return c, nil
}

// memberText returns the member at path (lower-case names) of a JSON object: a string as its
// value, anything else as compact JSON. ok is false when the member is absent or null.
func memberText(doc []byte, path []string) (string, bool) {
	raw := json.RawMessage(doc)
	for _, name := range path {
		var obj map[string]json.RawMessage
		if json.Unmarshal(raw, &obj) != nil {
			return "", false
		}
		found := false
		for k, v := range obj {
			if strings.EqualFold(k, name) {
				raw, found = v, true
				break
			}
		}
		if !found {
			return "", false
		}
	}
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return "", false
	}
	if raw[0] == '"' {
		var s string
		if json.Unmarshal(raw, &s) != nil {
			return "", false
		}
		return s, true
	}
	var b bytes.Buffer
	if json.Compact(&b, raw) != nil {
		return "", false
	}
	return b.String(), true
}

var literalTimeLayouts = []string{
	"2006-01-02 15:04:05.999999999",
	"2006-01-02 15:04:05.999999999Z07:00",
	time.RFC3339Nano,
	"2006-01-02T15:04:05.999999999",
	"2006-01-02",
}

func parseLiteralTime(s string) (time.Time, error) {
	for _, layout := range literalTimeLayouts {
		if t, err := time.Parse(layout, s); err == nil {
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a timestamp (want 2006-01-02 15:04:05, RFC 3339 or 2006-01-02)", s)
}

// token is a lexical token: a word (identifier, keyword, number or bare event data store id),
// a quoted string, or an operator or punctuation mark.
type token struct {
	kind byte // 'w' word, 's' string, 'p' punctuation or operator
	text string
}

func isWordByte(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' ||
		c == '_' || c == '.' || c == '-' || c == ':' || c == '/' || c == '$'
}

func tokenize(s string) ([]token, error) {
	var out []token
	for i := 0; i < len(s); {
		c := s[i]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			i++
		case c == '\'':
			var b strings.Builder
			j := i + 1
			for {
				if j >= len(s) {
					return nil, fmt.Errorf("unterminated string starting at character %d", i+1)
				}
				if s[j] == '\'' {
					if j+1 < len(s) && s[j+1] == '\'' {
						b.WriteByte('\'')
						j += 2
						continue
					}
					break
				}
				b.WriteByte(s[j])
				j++
			}
			out = append(out, token{'s', b.String()})
			i = j + 1
		case c == '"' || c == '`':
			j := strings.IndexByte(s[i+1:], c)
			if j < 0 {
				return nil, fmt.Errorf("unterminated quoted identifier starting at character %d", i+1)
			}
			out = append(out, token{'w', s[i+1 : i+1+j]})
			i += j + 2
		case isWordByte(c):
			j := i
			for j < len(s) && isWordByte(s[j]) {
				j++
			}
			out = append(out, token{'w', s[i:j]})
			i = j
		case c == '<' || c == '>' || c == '!':
			if i+1 < len(s) && (s[i+1] == '=' || c == '<' && s[i+1] == '>') {
				out = append(out, token{'p', s[i : i+2]})
				i += 2
				continue
			}
			if c == '!' {
				return nil, fmt.Errorf("unexpected %q at character %d", c, i+1)
			}
			out = append(out, token{'p', string(c)})
			i++
		case strings.IndexByte("=,()*;", c) >= 0:
			out = append(out, token{'p', string(c)})
			i++
		default:
			return nil, fmt.Errorf("unexpected %q at character %d", c, i+1)
		}
	}
	return out, nil
}

type parser struct {
	toks []token
	pos  int
}

func (p *parser) peek() token {
	if p.pos < len(p.toks) {
		return p.toks[p.pos]
	}
	return token{}
}

func (p *parser) next() token {
	t := p.peek()
	if p.pos < len(p.toks) {
		p.pos++
	}
	return t
}

// keyword consumes the next token if it is the keyword kw (case-insensitive).
func (p *parser) keyword(kw string) bool {
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, kw) {
		p.pos++
		return true
	}
	return false
}

func (p *parser) punct(s string) bool {
	if t := p.peek(); t.kind == 'p' && t.text == s {
		p.pos++
		return true
	}
	return false
}

func describe(t token) string {
	switch t.kind {
	case 0:
		return "the end of the statement"
	case 's':
		return "'" + t.text + "'"
	}
	return strconv.Quote(t.text)
}

var reserved = map[string]bool{"select": true, "from": true, "where": true, "and": true, "or": true,
	"order": true, "by": true, "limit": true, "as": true, "asc": true, "desc": true, "group": true,
	"join": true, "not": true, "like": true, "in": true, "is": true, "having": true, "union": true}

// parseSQL parses a statement of the supported subset.
func parseSQL(stmt string) (*sqlQuery, error) {
	toks, err := tokenize(stmt)
	if err != nil {
		return nil, err
	}
	p := &parser{toks: toks}
	q := &sqlQuery{}
	if !p.keyword("select") {
		return nil, fmt.Errorf("the statement must start with SELECT, not %s", describe(p.peek()))
	}
	if err := p.selectList(q); err != nil {
		return nil, err
	}
	if !p.keyword("from") {
		return nil, fmt.Errorf("expected FROM or ',' after the selected columns, found %s", describe(p.peek()))
	}
	from := p.next()
	if from.kind != 'w' || reserved[strings.ToLower(from.text)] {
		return nil, fmt.Errorf("expected an event data store id after FROM, found %s", describe(from))
	}
	q.from = from.text
	if p.keyword("where") {
		for {
			c, err := p.condition()
			if err != nil {
				return nil, err
			}
			q.where = append(q.where, c)
			if !p.keyword("and") {
				break
			}
		}
	}
	if p.keyword("order") {
		if !p.keyword("by") {
			return nil, fmt.Errorf("expected BY after ORDER, found %s", describe(p.peek()))
		}
		t := p.next()
		if t.kind != 'w' {
			return nil, fmt.Errorf("expected a column after ORDER BY, found %s", describe(t))
		}
		c, err := resolveColumn(t.text)
		if err != nil {
			return nil, err
		}
		q.orderBy = &c
		if p.keyword("desc") {
			q.desc = true
		} else {
			p.keyword("asc")
		}
	}
	if p.keyword("limit") {
		t := p.next()
		n, err := strconv.Atoi(t.text)
		if t.kind != 'w' || err != nil || n < 0 {
			return nil, fmt.Errorf("expected a number after LIMIT, found %s", describe(t))
		}
		q.limit = n
		if n == 0 {
			q.limit = -1 // LIMIT 0: no rows
		}
	}
	p.punct(";")
	if t := p.peek(); t.kind != 0 {
		return nil, fmt.Errorf("unexpected %s", describe(t))
	}
	return q, nil
}

func (p *parser) selectList(q *sqlQuery) error {
	if p.punct("*") {
		for _, name := range starColumns {
			c, _ := resolveColumn(name)
			q.columns = append(q.columns, outColumn{col: c, name: name})
		}
		return nil
	}
	if t := p.peek(); t.kind == 'w' && strings.EqualFold(t.text, "count") && p.pos+1 < len(p.toks) && p.toks[p.pos+1].text == "(" {
		p.pos += 2
		if !p.punct("*") || !p.punct(")") {
			return fmt.Errorf("only COUNT(*) is supported")
		}
		q.count = true
		name := "_col0"
		if p.keyword("as") {
			a := p.next()
			if a.kind != 'w' {
				return fmt.Errorf("expected an alias after AS, found %s", describe(a))
			}
			name = a.text
		}
		q.columns = []outColumn{{name: name}}
		return nil
	}
	for {
		t := p.next()
		if t.kind != 'w' || reserved[strings.ToLower(t.text)] {
			return fmt.Errorf("expected a column to select, found %s", describe(t))
		}
		if p.peek().text == "(" {
			return fmt.Errorf("function %s() is not supported", t.text)
		}
		c, err := resolveColumn(t.text)
		if err != nil {
			return err
		}
		name := t.text
		if i := strings.LastIndexByte(name, '.'); i >= 0 {
			name = name[i+1:]
		}
		if p.keyword("as") {
			a := p.next()
			if a.kind != 'w' {
				return fmt.Errorf("expected an alias after AS, found %s", describe(a))
			}
			name = a.text
		}
		q.columns = append(q.columns, outColumn{col: c, name: name})
		if !p.punct(",") {
			return nil
		}
	}
}

func (p *parser) condition() (condition, error) {
	t := p.next()
	if t.kind != 'w' || reserved[strings.ToLower(t.text)] {
		return condition{}, fmt.Errorf("expected a column in WHERE, found %s", describe(t))
	}
	col, err := resolveColumn(t.text)
	if err != nil {
		return condition{}, err
	}
	op := p.next()
	switch op.text {
	case "=", "!=", "<>", "<", "<=", ">", ">=":
	default:
		return condition{}, fmt.Errorf("expected a comparison (= != <> < <= > >=) after %s, found %s", t.text, describe(op))
	}
	if op.kind != 'p' {
		return condition{}, fmt.Errorf("expected a comparison after %s, found %s", t.text, describe(op))
	}
	p.keyword("timestamp")
	lit := p.next()
	if lit.kind == 'w' {
		if _, err := strconv.ParseFloat(lit.text, 64); err != nil {
			return condition{}, fmt.Errorf("expected a quoted value or a number after %s %s, found %s", t.text, op.text, describe(lit))
		}
	} else if lit.kind != 's' {
		return condition{}, fmt.Errorf("expected a quoted value after %s %s, found %s", t.text, op.text, describe(lit))
	}
	c := condition{col: col, op: op.text, lit: lit.text}
	if col.isTime {
		if c.t, err = parseLiteralTime(lit.text); err != nil {
			return condition{}, fmt.Errorf("%s: %w", t.text, err)
		}
	}
	return c, nil
}
