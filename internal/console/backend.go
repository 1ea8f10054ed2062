package console

import (
	"context"
	"errors"
	"time"

	"github.com/logshipper/logshipper/internal/console/schema"
)

// Backend is everything the console asks of the running logshipper. The console holds no state
// of the shipper: every page reads it here, every change goes through it. Its parts are the
// small interfaces below, one a page.
type Backend interface {
	OverviewBackend
	PluginBackend
	RuleBackend
	MappingBackend
	LogBackend
	DeadLetterBackend
}

// ErrNotFound is what a Backend returns (wrapped or not) for a name or id it does not know; the
// console answers 404.
var ErrNotFound = errors.New("not found")

// InvalidError is a change the Backend refused as `validate` would: every problem, each with
// its path. The console shows them next to the form and keeps what the user typed.
type InvalidError struct {
	Problems []string
}

func (e *InvalidError) Error() string {
	if len(e.Problems) == 1 {
		return "invalid: " + e.Problems[0]
	}
	return "invalid configuration"
}

// OverviewBackend feeds the Overview page.
type OverviewBackend interface {
	Overview(ctx context.Context) (Overview, error)
}

// Overview is the state of every plugin configuration and SIEM mapping.
type Overview struct {
	Plugins  []PluginStatus
	Mappings []MappingStatus
	// LastReload is the result of the last reconfiguration (a zero Time: none since the start).
	LastReload Reload
	// Started is when the process started.
	Started time.Time
}

// State is what a plugin configuration is doing.
type State string

// The states a plugin configuration is in.
const (
	StateRunning   State = "running"
	StateStopped   State = "stopped"
	StateThrottled State = "throttled"
	StateDisabled  State = "disabled"
	StateFinished  State = "finished"
)

// PluginStatus is one plugin configuration on the Overview page.
type PluginStatus struct {
	Name string
	Type string
	Kind string // source or destination
	// State, and the error that stopped it (State stopped).
	State State
	Error string
	// Received counts the records a source read or a destination was given; Sent the records
	// a destination delivered; Dropped the records dropped, by reason.
	Received uint64
	Sent     uint64
	Dropped  map[string]uint64
	// Rate is the records per second of the last hour, oldest first, one point per sample
	// (every 10 s).
	Rate []float64
	// Lag is, per partition, how far behind the source's now the last record read was.
	Lag []PartitionLag
	// LastError and LastErrorAt are the last error logged, even when it did not stop it.
	LastError   string
	LastErrorAt time.Time
}

// PartitionLag is how far behind one partition of a source is.
type PartitionLag struct {
	Partition string
	Lag       time.Duration
}

// MappingStatus is one SIEM mapping on the Overview page.
type MappingStatus struct {
	Name         string
	Source       string
	Rule         string
	Destinations []string
	Matched      uint64
	Filtered     uint64
}

// Reload is the result of one reconfiguration (console save, SIGHUP, --watch-config).
type Reload struct {
	At time.Time
	// Trigger is what asked for it: "console", "sighup", "watch".
	Trigger string
	// Error is why the file was refused (the running pipelines kept going); empty: applied.
	Error string
	// Restarted names the plugin configurations and mappings that were restarted.
	Restarted []string
}

// PluginBackend feeds the Plugins page.
type PluginBackend interface {
	// PluginTypes lists the plugin types the binary has.
	PluginTypes(ctx context.Context) ([]PluginType, error)
	// PluginSchema is the form of one type and kind (source or destination).
	PluginSchema(ctx context.Context, typ, kind string) (schema.Schema, error)
	// Plugins lists the plugin configurations of the file.
	Plugins(ctx context.Context) ([]PluginConfig, error)
	// Plugin is one plugin configuration, by name (ErrNotFound when there is none).
	Plugin(ctx context.Context, name string) (PluginConfig, error)
	// ValidatePlugin checks a configuration as `validate` does, without saving it; an
	// *InvalidError lists the problems.
	ValidatePlugin(ctx context.Context, edit PluginEdit) error
	// SavePlugin validates, writes and applies a configuration (an *InvalidError when
	// invalid, and nothing changes).
	SavePlugin(ctx context.Context, edit PluginEdit) error
	// SetPluginDisabled stops (disabled true) or starts again a configuration, keeping it in
	// the file.
	SetPluginDisabled(ctx context.Context, name string, disabled bool) error
	// DeletePlugin removes a configuration (refused while a mapping uses it).
	DeletePlugin(ctx context.Context, name string) error
	// CheckPlugin runs the live check of `validate --check` on a saved configuration.
	CheckPlugin(ctx context.Context, name string) (CheckResult, error)
}

// PluginType is one type a configuration can have.
type PluginType struct {
	Type    string
	Kind    string
	Summary string
}

// PluginConfig is a plugin configuration as the form shows it.
type PluginConfig struct {
	Name     string
	Type     string
	Kind     string
	Disabled bool
	// Values are the options by their key path (schema.Field.Key) as text, as the form
	// shows them. The console never renders the value of a secret field, whatever is here.
	Values map[string]string
	// SecretsSet names the secret fields that have a value (shown as "set", never the value).
	SecretsSet map[string]bool
}

// PluginEdit is a form sent to be validated or saved.
type PluginEdit struct {
	// Original is the name of the configuration edited; empty for a new one. A different Name
	// renames it.
	Original string
	Name     string
	Type     string
	Kind     string
	// Values are the fields the form sent, by key path, as text. A secret field left empty
	// is not here: it is in KeepSecrets.
	Values map[string]string
	// KeepSecrets are the secret fields left empty in the form: they keep their current value.
	KeepSecrets []string
}

// CheckResult is the live check of a configuration.
type CheckResult struct {
	OK     bool
	Detail string
}

// RuleBackend feeds the Business rules page.
type RuleBackend interface {
	Rules(ctx context.Context) ([]Rule, error)
	// SaveRule validates, writes and applies a rule; Original is the name edited (empty: new).
	SaveRule(ctx context.Context, original string, r Rule) error
	DeleteRule(ctx context.Context, name string) error
	// TestRule runs a rule (not yet saved) over sample records or the last records a source
	// read.
	TestRule(ctx context.Context, t RuleTest) (RuleTestResult, error)
	// Sources lists the source configurations (for "the last N records of").
	Sources(ctx context.Context) ([]string, error)
}

// Rule is one business rule: an expr-lang expression or a Mongo-style filter (JSON text).
type Rule struct {
	Name        string
	Description string
	Expr        string
	Filter      string
}

// RuleTest is what the test panel sends: the rule, and sample records (NDJSON or a JSON
// array) or a source and a count.
type RuleTest struct {
	Rule    Rule
	Records string
	Source  string
	Last    int
}

// RuleTestResult is the outcome of a rule over each record.
type RuleTestResult struct {
	Records []RuleTestRecord
	// Error is a rule that does not compile, or records that cannot be read.
	Error string
}

// RuleTestRecord is one record of a rule test.
type RuleTestRecord struct {
	Record string
	Match  bool
	// Why says which conditions held or failed, or the error evaluating the rule.
	Why string
}

// MappingBackend feeds the SIEM mappings page.
type MappingBackend interface {
	Mappings(ctx context.Context) ([]Mapping, error)
	// SaveMapping validates, writes and applies a mapping; original is the name edited.
	SaveMapping(ctx context.Context, original string, m Mapping) error
	DeleteMapping(ctx context.Context, name string) error
	// PreviewMapping shows what one record becomes at each destination of the mapping.
	PreviewMapping(ctx context.Context, p MappingPreview) (MappingPreviewResult, error)
}

// Mapping is one SIEM mapping: records of Source that match Rule (empty: all) go to the
// destinations.
type Mapping struct {
	Name         string
	Source       string
	Rule         string
	Destinations []string
}

// MappingPreview asks what a record becomes; an empty Record takes the source's last record.
type MappingPreview struct {
	Mapping Mapping
	Record  string
}

// MappingPreviewResult is the preview: whether the rule matched, and the output per
// destination.
type MappingPreviewResult struct {
	Matched bool
	Why     string
	Outputs []MappingOutput
	Error   string
}

// MappingOutput is what one destination would send.
type MappingOutput struct {
	Destination string
	Output      string
	Error       string
}

// LogBackend feeds the Logging page.
type LogBackend interface {
	// Logs returns the lines kept in memory that pass the filter, oldest first.
	Logs(ctx context.Context, f LogFilter) ([]LogLine, error)
	// SubscribeLogs sends the lines that pass the filter as they are logged, until ctx ends;
	// the channel is closed then.
	SubscribeLogs(ctx context.Context, f LogFilter) (<-chan LogLine, error)
}

// LogFilter selects log lines: by the configuration's name (the plugin= attribute), the lowest
// level, and a text found in the message or the attributes. Zero values select everything.
type LogFilter struct {
	Plugin string
	Level  string
	Text   string
	Limit  int
	// HideAudit leaves out the audit lines (audit=true: logins, refusals, changes, with the
	// users' names and addresses), which a viewer is not shown.
	HideAudit bool
}

// LogLine is one line of the process log.
type LogLine struct {
	Time    time.Time         `json:"time"`
	Level   string            `json:"level"`
	Plugin  string            `json:"plugin,omitempty"`
	Message string            `json:"msg"`
	Attrs   map[string]string `json:"attrs,omitempty"`
}

// DeadLetterBackend feeds the Dead letters page.
type DeadLetterBackend interface {
	// DeadLetters lists the dead letters that pass the filter, newest first, and the counts
	// by destination and reason.
	DeadLetters(ctx context.Context, f DeadLetterFilter) (DeadLetterPage, error)
	DeadLetter(ctx context.Context, id string) (DeadLetter, error)
	// ReplayDeadLetters sends the records again through their destination; it returns how
	// many were replayed.
	ReplayDeadLetters(ctx context.Context, ids []string) (int, error)
	// PurgeDeadLetters discards the records; it returns how many were removed.
	PurgeDeadLetters(ctx context.Context, ids []string) (int, error)
}

// DeadLetterFilter selects dead letters.
type DeadLetterFilter struct {
	Destination string
	Reason      string
	Limit       int
}

// DeadLetterPage is one listing of dead letters.
type DeadLetterPage struct {
	Entries []DeadLetter
	// Total is how many pass the filter (Entries holds at most Limit of them).
	Total int
	// Counts are the dead letters per destination and reason, for the filter's choices.
	Counts []DeadLetterCount
}

// DeadLetterCount is how many dead letters one destination holds for one reason.
type DeadLetterCount struct {
	Destination string
	Reason      string
	Count       int
}

// DeadLetter is one dead-lettered record.
type DeadLetter struct {
	ID          string
	Time        time.Time
	Destination string
	Source      string
	Reason      string
	Code        string
	Error       string
	Record      string
}
