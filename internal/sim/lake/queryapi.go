package lake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/logshipper/logshipper/internal/sim/awssim"
)

// The CloudTrail Lake query API of the control plane (cloudtrail, awsJson1.1):
// ListEventDataStores, StartQuery, DescribeQuery and GetQueryResults, with the shapes of the
// CloudTrail API reference (botocore cloudtrail 2013-11-01). A query runs when StartQuery is
// called, so DescribeQuery and GetQueryResults find it FINISHED at once; its results are kept
// for the maxQueries most recent queries.

const (
	maxQueries          = 1000
	maxStatementLength  = 10000
	defaultQueryResults = 1000
)

var (
	queryIDRe = regexp.MustCompile(`^[a-f0-9\-]+$`)
	edsRefRe  = regexp.MustCompile(`^[a-zA-Z0-9._/\-:]{3,256}$`)
	digitsRe  = regexp.MustCompile(`^[0-9]{12,16}$`)
)

// eventDataStore is an event data store that a channel feeds, parsed from its ARN
// (arn:<partition>:cloudtrail:<region>:<account>:eventdatastore/<id>).
type eventDataStore struct {
	arn, region, account, id string
}

func parseEventDataStoreARN(arn string) (eventDataStore, bool) {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[2] != "cloudtrail" {
		return eventDataStore{}, false
	}
	id, ok := strings.CutPrefix(parts[5], "eventdatastore/")
	if !ok || id == "" {
		return eventDataStore{}, false
	}
	return eventDataStore{arn: arn, region: parts[3], account: parts[4], id: id}, true
}

// eventDataStoresLocked returns the event data stores of the caller's account and region that
// the channels feed, sorted by ARN. Caller holds s.mu.
func (s *Service) eventDataStoresLocked(account, region string) []eventDataStore {
	seen := map[string]bool{}
	var out []eventDataStore
	for _, st := range s.channels {
		e, ok := parseEventDataStoreARN(st.cfg.EventDataStore)
		if !ok || seen[e.arn] || e.account != account || e.region != region {
			continue
		}
		seen[e.arn] = true
		out = append(out, e)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].arn < out[j].arn })
	return out
}

// lakeQuery is a query that StartQuery ran.
type lakeQuery struct {
	id, account, region string
	statement           string
	created             time.Time
	elapsed             time.Duration
	columns             []string
	rows                [][]string // one value per column; a NULL is ""
	nulls               [][]bool
	matched, scanned    int64
	bytesScanned        int64
}

// queryStore keeps the most recent queries. Guarded by Service.qmu.
type queryStore struct {
	byID  map[string]*lakeQuery
	order []string
}

func (qs *queryStore) add(q *lakeQuery) {
	if qs.byID == nil {
		qs.byID = map[string]*lakeQuery{}
	}
	qs.byID[q.id] = q
	qs.order = append(qs.order, q.id)
	if len(qs.order) > maxQueries {
		delete(qs.byID, qs.order[0])
		qs.order = slices.Delete(qs.order, 0, 1)
	}
}

func (s *Service) listEventDataStores(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		MaxResults *int    `json:"MaxResults"`
		NextToken  *string `json:"NextToken"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("The request body is not valid: %v", err)
	}
	limit := 1000
	if in.MaxResults != nil {
		if *in.MaxResults < 1 || *in.MaxResults > 1000 {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidMaxResultsException", "MaxResults must be between 1 and 1000.")
		}
		limit = *in.MaxResults
	}
	start := 0
	if in.NextToken != nil {
		n, ok := decodeOffsetToken(*in.NextToken, "eds")
		if !ok {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
		}
		start = n
	}
	s.mu.RLock()
	all := s.eventDataStoresLocked(caller.AccountID, caller.Region)
	s.mu.RUnlock()
	if start > len(all) {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
	}
	type summary struct {
		EventDataStoreArn string `json:"EventDataStoreArn"`
		Name              string `json:"Name"`
	}
	out := struct {
		EventDataStores []summary `json:"EventDataStores"`
		NextToken       string    `json:"NextToken,omitempty"`
	}{EventDataStores: []summary{}}
	for _, e := range all[start:min(len(all), start+limit)] {
		out.EventDataStores = append(out.EventDataStores, summary{EventDataStoreArn: e.arn, Name: e.id})
	}
	if start+limit < len(all) {
		out.NextToken = encodeOffsetToken("eds", start+limit)
	}
	return out, nil
}

func encodeOffsetToken(kind string, n int) string {
	return base64.RawURLEncoding.EncodeToString([]byte(kind + ":" + strconv.Itoa(n)))
}

func decodeOffsetToken(tok, kind string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	rest, ok := strings.CutPrefix(string(b), kind+":")
	n, err := strconv.Atoi(rest)
	return n, ok && err == nil && n >= 0
}

// checkOwner validates EventDataStoreOwnerAccountId: cloudsim has no resource policies on
// event data stores, so only the caller's own account is found.
func checkOwner(owner *string, caller awssim.Caller) *awssim.Error {
	if owner == nil {
		return nil
	}
	if !digitsRe.MatchString(*owner) {
		return validationError("Value '%s' at 'eventDataStoreOwnerAccountId' failed to satisfy constraint: Member must satisfy regular expression pattern: \\d+", *owner)
	}
	if *owner != caller.AccountID {
		return awssim.Errorf(http.StatusBadRequest, "EventDataStoreNotFoundException", "The event data store owner account %s has no event data store this caller can query.", *owner)
	}
	return nil
}

func (s *Service) startQuery(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		QueryStatement               *string  `json:"QueryStatement"`
		DeliveryS3Uri                *string  `json:"DeliveryS3Uri"`
		QueryAlias                   *string  `json:"QueryAlias"`
		QueryParameters              []string `json:"QueryParameters"`
		EventDataStoreOwnerAccountId *string  `json:"EventDataStoreOwnerAccountId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("The request body is not valid: %v", err)
	}
	if aerr := checkOwner(in.EventDataStoreOwnerAccountId, caller); aerr != nil {
		return nil, aerr
	}
	if in.QueryAlias != nil || len(in.QueryParameters) > 0 {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidParameterException", "cloudsim runs QueryStatement queries only, not QueryAlias templates.")
	}
	if in.QueryStatement == nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidParameterException", "QueryStatement or QueryAlias is required.")
	}
	stmt := *in.QueryStatement
	if len(stmt) < 1 || len(stmt) > maxStatementLength {
		return nil, validationError("Value at 'queryStatement' failed to satisfy constraint: Member must have length between 1 and %d", maxStatementLength)
	}
	if in.DeliveryS3Uri != nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "UnsupportedOperationException", "cloudsim does not deliver query results to S3 (DeliveryS3Uri); read them with GetQueryResults.")
	}
	q, err := parseSQL(stmt)
	if err != nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidQueryStatementException", "%v. %s.", err, queryForms)
	}
	started := time.Now()
	s.mu.RLock()
	var eds *eventDataStore
	for _, e := range s.eventDataStoresLocked(caller.AccountID, caller.Region) {
		if e.id == q.from || e.arn == q.from {
			eds = &e
			break
		}
	}
	if eds == nil {
		s.mu.RUnlock()
		if !edsRefRe.MatchString(q.from) {
			return nil, awssim.Errorf(http.StatusBadRequest, "EventDataStoreARNInvalidException", "The event data store %s is not valid.", q.from)
		}
		return nil, awssim.Errorf(http.StatusBadRequest, "EventDataStoreNotFoundException", "The event data store %s was not found in account %s, region %s.", q.from, caller.AccountID, caller.Region)
	}
	res := s.runLocked(q, eds.arn)
	s.mu.RUnlock()
	res.id = newRequestID()
	res.account, res.region = caller.AccountID, caller.Region
	res.statement = stmt
	res.created = s.now()
	res.elapsed = time.Since(started)
	s.qmu.Lock()
	s.queries.add(res)
	s.qmu.Unlock()
	return struct {
		QueryId                      string `json:"QueryId"`
		EventDataStoreOwnerAccountId string `json:"EventDataStoreOwnerAccountId,omitempty"`
	}{QueryId: res.id, EventDataStoreOwnerAccountId: deref(in.EventDataStoreOwnerAccountId)}, nil
}

func deref(p *string) string {
	if p == nil {
		return ""
	}
	return *p
}

// runLocked runs a parsed query over the events of the event data store edsARN. Caller holds
// s.mu for reading.
func (s *Service) runLocked(q *sqlQuery, edsARN string) *lakeQuery {
	feeds := map[string]bool{}
	for arn, st := range s.channels {
		if st.cfg.EventDataStore == edsARN {
			feeds[arn] = true
		}
	}
	res := &lakeQuery{}
	var matched []*StoredEvent
	s.log.each(func(ev *StoredEvent) bool {
		if !feeds[ev.ChannelARN] {
			return true
		}
		res.scanned++
		res.bytesScanned += int64(len(ev.EventData))
		for _, c := range q.where {
			if !c.match(ev) {
				return true
			}
		}
		matched = append(matched, ev)
		return true
	})
	res.matched = int64(len(matched))
	for _, c := range q.columns {
		res.columns = append(res.columns, c.name)
	}
	if q.count {
		res.rows = [][]string{{strconv.Itoa(len(matched))}}
		res.nulls = [][]bool{{false}}
		return res
	}
	if q.orderBy != nil {
		by := *q.orderBy
		slices.SortStableFunc(matched, func(a, b *StoredEvent) int {
			var c int
			if by.isTime {
				c = by.time(a).Compare(by.time(b))
			} else {
				va, _ := by.text(a)
				vb, _ := by.text(b)
				c = strings.Compare(va, vb)
			}
			if q.desc {
				c = -c
			}
			return c
		})
	}
	switch {
	case q.limit < 0:
		matched = nil
	case q.limit > 0 && len(matched) > q.limit:
		matched = matched[:q.limit]
	}
	for _, ev := range matched {
		row := make([]string, len(q.columns))
		nulls := make([]bool, len(q.columns))
		for i, c := range q.columns {
			v, ok := c.col.text(ev)
			row[i], nulls[i] = v, !ok
		}
		res.rows = append(res.rows, row)
		res.nulls = append(res.nulls, nulls)
	}
	return res
}

// lookupQuery finds a query of the caller's account and region.
func (s *Service) lookupQuery(caller awssim.Caller, id *string) (*lakeQuery, *awssim.Error) {
	if id == nil {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidParameterException", "QueryId is required.")
	}
	if len(*id) != 36 || !queryIDRe.MatchString(*id) {
		return nil, validationError("Value '%s' at 'queryId' failed to satisfy constraint: Member must have length 36 and satisfy regular expression pattern: ^[a-f0-9\\-]+$", *id)
	}
	s.qmu.Lock()
	q := s.queries.byID[*id]
	s.qmu.Unlock()
	if q == nil || q.account != caller.AccountID || q.region != caller.Region {
		return nil, awssim.Errorf(http.StatusBadRequest, "QueryIdNotFoundException", "The query ID %s does not exist or does not map to a query.", *id)
	}
	return q, nil
}

func (s *Service) describeQuery(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		QueryId                      *string `json:"QueryId"`
		EventDataStore               *string `json:"EventDataStore"`
		QueryAlias                   *string `json:"QueryAlias"`
		RefreshId                    *string `json:"RefreshId"`
		EventDataStoreOwnerAccountId *string `json:"EventDataStoreOwnerAccountId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("The request body is not valid: %v", err)
	}
	if aerr := checkOwner(in.EventDataStoreOwnerAccountId, caller); aerr != nil {
		return nil, aerr
	}
	if in.QueryId == nil && (in.QueryAlias != nil || in.RefreshId != nil) {
		return nil, awssim.Errorf(http.StatusBadRequest, "InvalidParameterException", "cloudsim describes queries by QueryId only (no dashboard refreshes).")
	}
	q, aerr := s.lookupQuery(caller, in.QueryId)
	if aerr != nil {
		return nil, aerr
	}
	type stats struct {
		EventsMatched         int64         `json:"EventsMatched"`
		EventsScanned         int64         `json:"EventsScanned"`
		BytesScanned          int64         `json:"BytesScanned"`
		ExecutionTimeInMillis int64         `json:"ExecutionTimeInMillis"`
		CreationTime          *epochSeconds `json:"CreationTime"`
	}
	return struct {
		QueryId         string `json:"QueryId"`
		QueryString     string `json:"QueryString"`
		QueryStatus     string `json:"QueryStatus"`
		QueryStatistics stats  `json:"QueryStatistics"`
	}{
		QueryId: q.id, QueryString: q.statement, QueryStatus: "FINISHED",
		QueryStatistics: stats{
			EventsMatched: q.matched, EventsScanned: q.scanned, BytesScanned: q.bytesScanned,
			ExecutionTimeInMillis: q.elapsed.Milliseconds(), CreationTime: tsPtr(q.created),
		},
	}, nil
}

func (s *Service) getQueryResults(caller awssim.Caller, body []byte) (any, *awssim.Error) {
	var in struct {
		QueryId                      *string `json:"QueryId"`
		EventDataStore               *string `json:"EventDataStore"`
		MaxQueryResults              *int    `json:"MaxQueryResults"`
		NextToken                    *string `json:"NextToken"`
		EventDataStoreOwnerAccountId *string `json:"EventDataStoreOwnerAccountId"`
	}
	if err := json.Unmarshal(body, &in); err != nil {
		return nil, serializationError("The request body is not valid: %v", err)
	}
	if in.QueryId == nil {
		return nil, validationError("Value null at 'queryId' failed to satisfy constraint: Member must not be null")
	}
	if aerr := checkOwner(in.EventDataStoreOwnerAccountId, caller); aerr != nil {
		return nil, aerr
	}
	limit := defaultQueryResults
	if in.MaxQueryResults != nil {
		if *in.MaxQueryResults < 1 || *in.MaxQueryResults > 1000 {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidMaxResultsException", "MaxQueryResults must be between 1 and 1000.")
		}
		limit = *in.MaxQueryResults
	}
	q, aerr := s.lookupQuery(caller, in.QueryId)
	if aerr != nil {
		return nil, aerr
	}
	start := 0
	if in.NextToken != nil {
		n, ok := decodeOffsetToken(*in.NextToken, q.id)
		if !ok || n > len(q.rows) {
			return nil, awssim.Errorf(http.StatusBadRequest, "InvalidNextTokenException", "The NextToken is not valid.")
		}
		start = n
	}
	end := min(len(q.rows), start+limit)
	rows := make([][]map[string]*string, 0, end-start)
	for i := start; i < end; i++ {
		row := make([]map[string]*string, len(q.columns))
		for j, name := range q.columns {
			var v *string
			if !q.nulls[i][j] {
				v = &q.rows[i][j]
			}
			row[j] = map[string]*string{name: v}
		}
		rows = append(rows, row)
	}
	type stats struct {
		ResultsCount      int   `json:"ResultsCount"`
		TotalResultsCount int   `json:"TotalResultsCount"`
		BytesScanned      int64 `json:"BytesScanned"`
	}
	out := struct {
		QueryStatus     string                 `json:"QueryStatus"`
		QueryStatistics stats                  `json:"QueryStatistics"`
		QueryResultRows [][]map[string]*string `json:"QueryResultRows"`
		NextToken       string                 `json:"NextToken,omitempty"`
	}{
		QueryStatus:     "FINISHED",
		QueryStatistics: stats{ResultsCount: len(rows), TotalResultsCount: len(q.rows), BytesScanned: q.bytesScanned},
		QueryResultRows: rows,
	}
	if end < len(q.rows) {
		out.NextToken = encodeOffsetToken(q.id, end)
	}
	return out, nil
}
