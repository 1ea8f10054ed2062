package netskope

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"

	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/internal/retry"
)

var _ plugin.Checker = (*Source)(nil)

// checkAttempts is how many times Check asks an endpoint whose answer was a passing fault.
const checkAttempts = 3

// checkIndex is the index Check asks for: `resend` on an index that is never read answers an
// empty page and moves nothing (at worst the tenant keeps an idle index of that name).
func (s *Source) checkIndex() string { return s.prefix + "_check" }

// Check implements plugin.Checker for `logshipper validate --check`: it asks every configured
// endpoint for `resend` on an index of its own, concurrently and within the rate limit, and
// tells apart a tenant that cannot be reached or is not a Netskope tenant, a token the tenant
// refuses (401), and endpoints the token may not read (403, listed together). A 429 or an
// `ok: 0` answer means the token was accepted; a 5xx, a network error or an answer that is not a
// page is asked again (three attempts in all) before it is reported.
func (s *Source) Check(ctx context.Context) error {
	eps := s.endpoints()
	errs := make([]error, len(eps))
	var wg sync.WaitGroup
	for i, ep := range eps {
		wg.Go(func() {
			pace := s.pacers.get(s.client, ep, s.tune.perSecond, s.set.ShareOf(), s.logger(ep))
			for attempt := 1; ; attempt++ {
				if err := pace.wait(ctx); err != nil {
					errs[i] = err
					return
				}
				_, _, errs[i] = s.client.get(ctx, ep, s.checkIndex(), opResend, nil, nil)
				var re *reqError
				if errs[i] == nil || attempt == checkAttempts || !errors.As(errs[i], &re) ||
					(re.class != classUnknown && re.class != classMalformed) {
					return
				}
				// A passing fault (a 5xx, a reset connection) is not the answer.
				if !retry.Sleep(ctx, s.backoff(attempt)) {
					return
				}
			}
		})
	}
	wg.Wait()
	defer s.client.hc.CloseIdleConnections()

	var forbidden []string
	var other []error
	for i, err := range errs {
		var re *reqError
		switch {
		case err == nil:
		case errors.As(err, &re) && re.status == 401:
			return fmt.Errorf("tenant %s refused the API token (401 Unauthorized): it is unknown, expired or revoked; create a REST API v2 token under Settings > Tools > REST API v2", s.client.host)
		case errors.As(err, &re) && re.status == 403:
			forbidden = append(forbidden, eps[i].String())
		case errors.As(err, &re) && (re.status == 404 || re.status == 405):
			return fmt.Errorf("%s is not a Netskope data-export API: %s answered %d; check the tenant URL (https://<tenant>.goskope.com)", s.client.host, eps[i].path(), re.status)
		case errors.As(err, &re) && (re.class == classThrottled || re.class == classNotServed):
			// The token was accepted; the endpoint answered.
		default:
			other = append(other, err)
		}
	}
	if len(other) > 0 {
		more := ""
		if len(other) > 1 {
			more = fmt.Sprintf(" (and %d more endpoints failed)", len(other)-1)
		}
		return fmt.Errorf("%w%s", other[0], more)
	}
	if len(forbidden) > 0 {
		return fmt.Errorf("tenant %s: the API token may not read %d of the %d endpoints configured (403 Forbidden): %s; add them to the token's scope, or remove them from event_types/alert_types",
			s.client.host, len(forbidden), len(eps), strings.Join(forbidden, ", "))
	}
	return nil
}
