package awssim

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base32"
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// RequestIDHeader is the response header that carries the request id in every AWS protocol.
const RequestIDHeader = "X-Amzn-Requestid"

type requestIDKey struct{}

// NewRequestID returns a fresh request id in the form AWS uses (a random UUID).
func NewRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

// WithRequestID returns ctx carrying the request id id.
func WithRequestID(ctx context.Context, id string) context.Context {
	return context.WithValue(ctx, requestIDKey{}, id)
}

// RequestIDFrom returns the request id of the request whose context is ctx, or "".
func RequestIDFrom(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// EnsureRequestID returns r with a request id in its context (reusing one already there) and
// sets the x-amzn-RequestId response header to it.
func EnsureRequestID(w http.ResponseWriter, r *http.Request) (*http.Request, string) {
	id := RequestIDFrom(r.Context())
	if id == "" {
		id = NewRequestID()
		r = r.WithContext(WithRequestID(r.Context(), id))
	}
	w.Header().Set(RequestIDHeader, id)
	return r, id
}

// Partition returns the ARN partition of a region: aws, aws-cn, aws-us-gov, aws-iso, ...
func Partition(region string) string {
	switch {
	case strings.HasPrefix(region, "cn-"):
		return "aws-cn"
	case strings.HasPrefix(region, "us-gov-"):
		return "aws-us-gov"
	case strings.HasPrefix(region, "us-isob-"):
		return "aws-iso-b"
	case strings.HasPrefix(region, "us-iso-"):
		return "aws-iso"
	case strings.HasPrefix(region, "eusc-"):
		return "aws-eusc"
	default:
		return "aws"
	}
}

const idAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"

var idEncoding = base32.NewEncoding(idAlphabet).WithPadding(base32.NoPadding)

// randomID returns prefix followed by n random characters of [A-Z2-7], the shape of AWS key
// and unique ids (AKIA..., ASIA..., AROA..., AIDA...).
func randomID(prefix string, n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return prefix + idEncoding.EncodeToString(b)[:n]
}

// NewAccessKeyID returns a random access key id with the given prefix: AKIA for long-term keys,
// ASIA for temporary ones. It is 20 characters long, as AWS's are.
func NewAccessKeyID(prefix string) string { return randomID(prefix, 20-len(prefix)) }

// NewSecretAccessKey returns a random 40-character secret access key.
func NewSecretAccessKey() string {
	b := make([]byte, 30)
	_, _ = rand.Read(b)
	return base64.StdEncoding.EncodeToString(b)
}

// NewSessionToken returns a random session token of the length AWS's usually have.
func NewSessionToken() string {
	b := make([]byte, 480)
	_, _ = rand.Read(b)
	return "IQoJb3JpZ2luX2Vj" + base64.StdEncoding.EncodeToString(b)
}

// StableID returns prefix followed by 17 characters derived from seed: the shape of the unique id
// IAM gives a role (AROA...) or user (AIDA...), stable for the same seed.
func StableID(prefix, seed string) string {
	sum := sha256.Sum256([]byte(seed))
	return prefix + idEncoding.EncodeToString(sum[:])[:17]
}

// NewTemporaryCredential returns fresh temporary credentials (ASIA key, secret, session token)
// standing for the principal arn with the unique id userID in account, valid until expiration.
func NewTemporaryCredential(account, arn, userID string, expiration time.Time) Credential {
	return Credential{
		AccessKeyID:     NewAccessKeyID("ASIA"),
		SecretAccessKey: NewSecretAccessKey(),
		SessionToken:    NewSessionToken(),
		AccountID:       account,
		ARN:             arn,
		UserID:          userID,
		Expiration:      expiration.UTC().Truncate(time.Second),
	}
}
