package lakeapi

import (
	"bytes"
	"errors"

	"github.com/logshipper/logshipper/internal/jsonx"
)

// errNotObject is a PutAuditEvents answer, or part of one, of another JSON type than the
// answer's shape wants.
var errNotObject = errors.New("unexpected JSON type in the PutAuditEvents answer")

// putDecoder reads a PutAuditEvents answer into a PutAuditEventsOutput with jsonx's scanner,
// as encoding/json's Unmarshal does into the same struct: the same output or an error for the
// same inputs (FuzzDecodePutOutput holds it to that). Keys match the fields' names exactly or
// under Unicode case folding (bytes.EqualFold), the last of duplicate keys wins (a repeated
// array decodes into the elements the earlier one left), null leaves a string or an element as
// it is and empties a list, unknown members are checked and skipped.
//
// Strings without escapes are cut from one copy of the body (one allocation for all of them).
type putDecoder struct {
	jsonx.Scanner
	arena   string // the body, as one string
	scratch []byte
}

// decodePutOutput decodes body into out (RequestID is left alone).
func decodePutOutput(body []byte, out *PutAuditEventsOutput) error {
	d := putDecoder{Scanner: jsonx.Scanner{B: body}}
	d.WS()
	if d.I >= len(d.B) {
		return d.Fail("unexpected end of JSON input")
	}
	var err error
	switch d.B[d.I] {
	case '{':
		err = d.Members(func(key []byte, escaped bool) error {
			key = d.key(key, escaped)
			switch {
			case fieldIs(key, "successful"):
				return decodeList(&d, &out.Successful, d.result)
			case fieldIs(key, "failed"):
				return decodeList(&d, &out.Failed, d.failure)
			}
			return d.Skip()
		})
	case 'n':
		err = d.Literal("null")
	default:
		err = d.Skip()
		if err == nil {
			err = errNotObject
		}
	}
	if err != nil {
		return err
	}
	d.WS()
	if d.I != len(d.B) {
		return d.Fail("invalid character after top-level value")
	}
	return nil
}

// fieldIs reports whether a member's key names the field name, as encoding/json matches them.
func fieldIs(key []byte, name string) bool {
	return string(key) == name || bytes.EqualFold(key, []byte(name))
}

// key is a member's key with its escapes decoded.
func (d *putDecoder) key(key []byte, escaped bool) []byte {
	if !escaped {
		return key
	}
	d.scratch = jsonx.AppendUnescaped(d.scratch[:0], key)
	return d.scratch
}

// decodeList decodes the array or null at I into *list, each element with elem: an array's
// elements go into the list's slots from the first, reusing what an earlier array of the same
// key left in them; an empty array is an empty list, null a nil one.
func decodeList[T any](d *putDecoder, list *[]T, elem func(*T) error) error {
	switch d.B[d.I] {
	case 'n':
		if err := d.Literal("null"); err != nil {
			return err
		}
		*list = nil
		return nil
	case '[':
	default:
		if err := d.Skip(); err != nil {
			return err
		}
		return errNotObject
	}
	s := *list
	if cap(s) == 0 {
		s = make([]T, 0, min(MaxEventsPerCall, (len(d.B)-d.I)/16+1))
	}
	i := 0
	err := d.Elements(func() error {
		switch {
		case i < len(s):
		case i < cap(s):
			s = s[:i+1]
		default:
			var zero T
			s = append(s, zero)
		}
		i++
		switch d.B[d.I] {
		case '{':
			return elem(&s[i-1])
		case 'n':
			return d.Literal("null")
		}
		if err := d.Skip(); err != nil {
			return err
		}
		return errNotObject
	})
	if err != nil {
		return err
	}
	if i == 0 {
		s = []T{}
	}
	*list = s[:i]
	return nil
}

func (d *putDecoder) result(r *AuditEventResult) error {
	return d.Members(func(key []byte, escaped bool) error {
		key = d.key(key, escaped)
		switch {
		case fieldIs(key, "id"):
			return d.str(&r.ID)
		case fieldIs(key, "eventID"):
			return d.str(&r.EventID)
		}
		return d.Skip()
	})
}

func (d *putDecoder) failure(f *AuditEventError) error {
	return d.Members(func(key []byte, escaped bool) error {
		key = d.key(key, escaped)
		switch {
		case fieldIs(key, "id"):
			return d.str(&f.ID)
		case fieldIs(key, "errorCode"):
			return d.str(&f.ErrorCode)
		case fieldIs(key, "errorMessage"):
			return d.str(&f.ErrorMessage)
		}
		return d.Skip()
	})
}

// str decodes the string or null at I into *dst; null leaves it as it is.
func (d *putDecoder) str(dst *string) error {
	switch d.B[d.I] {
	case '"':
		start, end, decode, err := d.ReadString()
		if err != nil {
			return err
		}
		if decode {
			d.scratch = jsonx.AppendUnescaped(d.scratch[:0], d.B[start:end])
			*dst = string(d.scratch)
			return nil
		}
		if d.arena == "" {
			d.arena = string(d.B)
		}
		*dst = d.arena[start:end]
		return nil
	case 'n':
		return d.Literal("null")
	}
	if err := d.Skip(); err != nil {
		return err
	}
	return errNotObject
}
