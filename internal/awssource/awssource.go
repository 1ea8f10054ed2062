// Package awssource holds what the AWS sources (aws_cloudwatch_logs, aws_s3_sqs) share beyond
// awsauth's access keys: the eps_throttle value and the gateway's log-source identifier
// patterns (use_as_gateway_log_source, log_source_identifier_pattern).
package awssource

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// EPS is the eps_throttle value: records per second. A YAML null (`eps_throttle:` or `~`)
// decodes as a nil *EPS and "" as 0: both mean no limit, as DESIGN says of every throttle.
type EPS int

// EPSLimit returns a limit of n records per second (0: none).
func EPSLimit(n int) *EPS { e := EPS(n); return &e }

// UnmarshalYAML takes a whole number or an empty string.
func (e *EPS) UnmarshalYAML(n *yaml.Node) error {
	if n.Kind != yaml.ScalarNode {
		return fmt.Errorf("line %d: eps_throttle: must be a whole number (empty or 0: no limit)", n.Line)
	}
	v := strings.TrimSpace(n.Value)
	if v == "" || n.ShortTag() == "!!null" {
		*e = 0
		return nil
	}
	i, err := strconv.Atoi(v)
	if err != nil {
		return fmt.Errorf("line %d: eps_throttle: %q is not a whole number (empty or 0: no limit)", n.Line, n.Value)
	}
	*e = EPS(i)
	return nil
}

// Limit is the value in records per second; nil and 0 mean no limit.
func (e *EPS) Limit() int {
	if e == nil {
		return 0
	}
	return int(*e)
}

// Identifiers are the gateway's log-source identifier patterns, in order.
type Identifiers struct {
	rules []identRule
}

type identRule struct {
	template string // the identifier, with $1 or \1 references to the pattern's groups
	re       *regexp.Regexp
	hasRefs  bool
}

var backslashRef = regexp.MustCompile(`\\([0-9])`)

// ParseIdentifierPatterns reads `Identifier=regex` lines. Blank lines and lines starting with
// '#' are ignored. The identifier is what comes before the first '='; the regular expression
// (Go RE2 syntax) all after it; spaces around the '=' are ignored. `$1`, `${1}` and `\1` in the
// identifier are replaced with the pattern's capture groups.
func ParseIdentifierPatterns(s string) (*Identifiers, error) {
	ids := &Identifiers{}
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

// Match returns the identifier of the first pattern that matches msg; false when none does,
// or when the first that does expands to nothing (the caller's default identifier then).
// Nil Identifiers hold no pattern.
func (ids *Identifiers) Match(msg string) (string, bool) {
	if ids == nil {
		return "", false
	}
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
