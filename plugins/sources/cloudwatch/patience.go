package cloudwatch

import (
	"errors"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awshttp "github.com/aws/aws-sdk-go-v2/aws/transport/http"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"

	"github.com/logshipper/logshipper/internal/awsauth"
)

// patience is how long a partition's FilterLogEvents requests wait for an answer: the HTTP
// client's timeouts (awsauth's: 60 s for the response headers, 2 min for the whole answer)
// times 2^level. A request that got no answer in time raises the level, up to
// maxPatienceLevel; an answer that comes in less than half the first wait lowers it again.
//
// Asking again with the same timeout would never finish against a server that is slow but
// answers (an endpoint or a proxy under load; moto_server, which computes every answer from
// the whole log group, one at a time): every answer would come after its request was
// abandoned, and the server would go on computing the abandoned ones, so that the requests
// asked again wait longer still.
type patience struct {
	header, whole time.Duration // the waits at level 0

	mu      sync.Mutex
	level   int
	base    aws.HTTPClient         // the client the cached ones are made from
	clients map[int]aws.HTTPClient // by level
}

// maxPatienceLevel bounds the waits: 8 minutes for the headers, 16 for the whole answer.
const maxPatienceLevel = 3

// options returns the current level and the FilterLogEvents options of a request sent at it:
// none at level 0 with the client's own timeouts.
func (pt *patience) options() (int, []func(*cloudwatchlogs.Options)) {
	pt.mu.Lock()
	level := pt.level
	pt.mu.Unlock()
	if level == 0 && pt.header == awsauth.ResponseHeaderTimeout && pt.whole == awsauth.RequestTimeout {
		return level, nil
	}
	return level, []func(*cloudwatchlogs.Options){func(o *cloudwatchlogs.Options) { o.HTTPClient = pt.client(o.HTTPClient, level) }}
}

// client returns base waiting as long as level says (base itself when it is not the
// buildable client awsauth makes). The clients of each level are kept, so that their
// connections are reused.
func (pt *patience) client(base aws.HTTPClient, level int) aws.HTTPClient {
	bc, ok := base.(*awshttp.BuildableClient)
	if !ok {
		return base
	}
	pt.mu.Lock()
	defer pt.mu.Unlock()
	if pt.base != base || pt.clients == nil {
		pt.base, pt.clients = base, map[int]aws.HTTPClient{}
	}
	if c, ok := pt.clients[level]; ok {
		return c
	}
	header, whole := pt.header<<level, pt.whole<<level
	c := bc.WithTimeout(whole).WithTransportOptions(func(tr *http.Transport) { tr.ResponseHeaderTimeout = header })
	pt.clients[level] = c
	return c
}

// raised reports whether a request went unanswered in time and the level is not back at 0:
// the server is slow, and a request started beside the ones in flight would only queue
// behind them (a server that answers one request at a time computes the abandoned ones too).
func (pt *patience) raised() bool {
	pt.mu.Lock()
	defer pt.mu.Unlock()
	return pt.level > 0
}

// note learns from a request sent at level that ended with err after took. Only a request
// that waited as long as the current level says raises it: the requests of the region in
// flight at once, sent at the level before, time out one after the other, and their timeouts
// say no more than the first one did.
func (pt *patience) note(level int, err error, took time.Duration, log *slog.Logger) {
	var ne net.Error
	timedOut := err != nil && errors.As(err, &ne) && ne.Timeout()
	pt.mu.Lock()
	defer pt.mu.Unlock()
	switch {
	case timedOut && level == pt.level && pt.level < maxPatienceLevel:
		pt.level++
		log.Warn("FilterLogEvents got no answer in time: the next requests wait longer for theirs",
			"response_header_timeout", pt.header<<pt.level, "request_timeout", pt.whole<<pt.level)
	case err == nil && pt.level > 0 && took < pt.header/2:
		pt.level--
	}
}
