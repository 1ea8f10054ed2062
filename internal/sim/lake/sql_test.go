package lake

import (
	"strings"
	"testing"
	"time"
)

func TestParseSQL(t *testing.T) {
	tests := []struct {
		stmt    string
		from    string
		columns []string
		where   int
		limit   int
		err     string
	}{
		{stmt: "SELECT eventData FROM abc-eds WHERE eventtime >= '2026-12-01 00:00:00'", from: "abc-eds", columns: []string{"eventData"}, where: 1},
		{stmt: "select EVENTDATA.eventSource as src, eventID from `abc` where eventData.eventSource = 'it''s' and eventTime < timestamp '2026-12-01' limit 5;",
			from: "abc", columns: []string{"src", "eventID"}, where: 2, limit: 5},
		{stmt: "SELECT COUNT(*) AS n FROM abc", from: "abc", columns: []string{"n"}},
		{stmt: "SELECT * FROM abc LIMIT 0", from: "abc", columns: starColumns, limit: -1},
		{stmt: "SELECT eventData FROM abc WHERE eventData.x = 3", from: "abc", columns: []string{"eventData"}, where: 1},
		{stmt: "UPDATE abc SET x = 1", err: "must start with SELECT"},
		{stmt: "SELECT eventData", err: "expected FROM"},
		{stmt: "SELECT eventData FROM WHERE", err: "event data store id"},
		{stmt: "SELECT max(eventTime) FROM abc", err: "function max() is not supported"},
		{stmt: "SELECT COUNT(eventID) FROM abc", err: "only COUNT(*)"},
		{stmt: "SELECT useridentity FROM abc", err: `unknown column "useridentity"`},
		{stmt: "SELECT eventData FROM abc WHERE eventID LIKE 'a%'", err: "expected a comparison"},
		{stmt: "SELECT eventData FROM abc WHERE eventID = eventName", err: "expected a quoted value or a number"},
		{stmt: "SELECT eventData FROM abc WHERE eventTime > '1 hour ago'", err: "is not a timestamp"},
		{stmt: "SELECT eventData FROM abc WHERE eventID = 'a' OR eventID = 'b'", err: `unexpected "OR"`},
		{stmt: "SELECT eventData FROM abc GROUP BY eventID", err: `unexpected "GROUP"`},
		{stmt: "SELECT eventData FROM abc LIMIT -1", err: "expected a number after LIMIT"},
		{stmt: "SELECT eventData FROM abc WHERE eventID = 'a", err: "unterminated string"},
		{stmt: "SELECT eventData FROM abc WHERE eventID ! 'a'", err: `unexpected '!'`},
	}
	for _, tt := range tests {
		t.Run(tt.stmt, func(t *testing.T) {
			q, err := parseSQL(tt.stmt)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want one containing %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var cols []string
			for _, c := range q.columns {
				cols = append(cols, c.name)
			}
			if q.from != tt.from || strings.Join(cols, ",") != strings.Join(tt.columns, ",") || len(q.where) != tt.where || q.limit != tt.limit {
				t.Errorf("from %q columns %q where %d limit %d", q.from, cols, len(q.where), q.limit)
			}
		})
	}
}

func TestConditionMatch(t *testing.T) {
	ev := &StoredEvent{EventTime: time.Date(2026, 12, 1, 7, 8, 9, 0, time.UTC), EventID: "e1",
		EventData: []byte(`{"eventSource":"netskopeevent.audit","n":3,"userIdentity":{"principalId":"a@b"},"gone":null}`)}
	tests := []struct {
		where string
		want  bool
	}{
		{"eventTime >= '2026-12-01 07:08:09'", true},
		{"eventTime > '2026-12-01T07:08:09Z'", false},
		{"eventTime < '2026-12-02'", true},
		{"eventTime <> '2026-12-01 07:08:09.000'", false},
		{"eventData.eventSource = 'netskopeevent.audit'", true},
		{"eventData.EVENTSOURCE != 'netskopeevent.audit'", false},
		{"eventData.userIdentity.principalId = 'a@b'", true},
		{"eventData.n = 3", true},
		{"eventData.gone = 'x'", false},
		{"eventData.gone != 'x'", false},
		{"eventData.missing != 'x'", false},
		{"eventID <= 'e1'", true},
	}
	for _, tt := range tests {
		t.Run(tt.where, func(t *testing.T) {
			q, err := parseSQL("SELECT eventData FROM x WHERE " + tt.where)
			if err != nil {
				t.Fatal(err)
			}
			if got := q.where[0].match(ev); got != tt.want {
				t.Errorf("match = %v, want %v", got, tt.want)
			}
		})
	}
}
