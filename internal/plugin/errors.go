package plugin

import (
	"errors"
	"fmt"
	"time"
)

// Reason is why a record did not reach a destination. Every drop is counted under one.
type Reason string

// The reasons a record is dropped. Metrics use them as the `reason` label.
const (
	ReasonFiltered    Reason = "filtered"                   // no business rule of the route matched
	ReasonUnsupported Reason = "unsupported_by_destination" // the destination cannot take this kind of record
	ReasonUnmapped    Reason = "unmapped"                   // the mapping has nothing for this subtype
	ReasonDuplicate   Reason = "duplicate"                  // already delivered (same id)
	ReasonTooLarge    Reason = "too_large"                  // larger than the source or destination accepts
	ReasonInvalid     Reason = "invalid"                    // not a well-formed record
	ReasonRefused     Reason = "refused"                    // the destination refused it for good
	ReasonRuleError   Reason = "rule_error"                 // the route's rule failed on it (a type mismatch on its values)
	ReasonEmpty       Reason = "empty"                      // a container of records (a CloudTrail file or delivery) that holds none
	// ReasonControlMessage: a CloudWatch Logs subscription's CONTROL_MESSAGE, the health check
	// CloudWatch Logs sends to a subscription destination; it holds no log event.
	ReasonControlMessage Reason = "control_message"
)

// Deadletters reports whether records dropped for r are kept in the dead-letter store. Records
// dropped on purpose (filtered, unsupported, unmapped, duplicate) are only counted.
func (r Reason) Deadletters() bool {
	switch r {
	case ReasonTooLarge, ReasonInvalid, ReasonRefused:
		return true
	}
	return false
}

// RefusedError marks a record (or a whole call) the destination will never accept. The engine
// moves such records to the dead-letter store with Code and the message.
type RefusedError struct {
	Code string // the destination's own code, e.g. "InvalidData"; may be empty
	Err  error
}

func (e *RefusedError) Error() string {
	if e.Code == "" {
		return "refused: " + e.Err.Error()
	}
	return "refused (" + e.Code + "): " + e.Err.Error()
}

func (e *RefusedError) Unwrap() error { return e.Err }

// Refused marks err as permanent for the records it concerns.
func Refused(code string, err error) error {
	if err == nil {
		err = errors.New(code)
	}
	return &RefusedError{Code: code, Err: err}
}

// ThrottledError asks the engine to retry no sooner than After.
type ThrottledError struct {
	After time.Duration
	Err   error
}

func (e *ThrottledError) Error() string {
	return fmt.Sprintf("throttled (retry after %s): %v", e.After, e.Err)
}

func (e *ThrottledError) Unwrap() error { return e.Err }

// Throttled marks err as a throttle; after is the server's retry-after, or 0 if it gave none.
func Throttled(err error, after time.Duration) error {
	return &ThrottledError{After: after, Err: err}
}

// FatalError means retrying cannot help (wrong credentials, a channel that does not exist):
// the engine stops this plugin configuration with the error and leaves its records unacked,
// so they are read again once the configuration is fixed.
type FatalError struct{ Err error }

func (e *FatalError) Error() string { return e.Err.Error() }
func (e *FatalError) Unwrap() error { return e.Err }

// Fatal marks err as fatal for the plugin configuration.
func Fatal(err error) error { return &FatalError{Err: err} }

// IsFatal reports whether err is, or wraps, a FatalError.
func IsFatal(err error) bool {
	var f *FatalError
	return errors.As(err, &f)
}

// SkippedError marks a record the destination leaves out on purpose (a subtype its mapping
// does not cover, a second copy of an id in one call): it is counted under Reason and
// acknowledged, not dead-lettered. A destination that never takes a kind of record says so
// with KindRefuser instead, before the record is queued.
type SkippedError struct {
	Reason Reason
	Err    error
}

func (e *SkippedError) Error() string {
	if e.Err == nil {
		return "skipped: " + string(e.Reason)
	}
	return "skipped (" + string(e.Reason) + "): " + e.Err.Error()
}

func (e *SkippedError) Unwrap() error { return e.Err }

// Skipped marks a record as left out on purpose for reason.
func Skipped(reason Reason, err error) error { return &SkippedError{Reason: reason, Err: err} }

// BatchError reports the records of a batch that failed; records not named were delivered.
// Each error is classified like a whole-call error: Refused, Throttled or retryable.
type BatchError struct {
	Failed map[int]error // by index into the batch given to Write
}

func (e *BatchError) Error() string {
	return fmt.Sprintf("%d records of the batch failed", len(e.Failed))
}
