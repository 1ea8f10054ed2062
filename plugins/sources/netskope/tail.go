package netskope

import (
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"hash/crc64"
	"strconv"
	"strings"
)

// This file recognises the records an index seeded again at the saved hwm answers first,
// which were delivered already.
//
// Seeded again at second S (after a resend found nothing, or under a new index name), the
// index answers from the first record inserted in S, in the order it served them: the
// records of S delivered before the stop come first, then the ones not delivered. Which of
// the delivered records were inserted in S is not known from the records themselves: many
// lack _insertion_epoch_timestamp (incident records, other vendors' samples), a re-emitted
// duplicate carries the field of its original, and a field can be repeated. The tail
// therefore reads no field of a record: it is the CRC-64 of each of the last tailLen records
// delivered on the index (across pages, in the order served), and the records at the start
// of the answer are compared with it byte for byte.

// tailLen is how many records the tail holds. tailLen records running, byte for byte
// identical, are taken as the same records (see skipDelivered).
const tailLen = 32

// recordSum identifies one record by its bytes as received.
func recordSum(raw []byte) uint64 { return crc64.Checksum(raw, crcTable) }

// extendTail returns the last tailLen of tail followed by the sums of elems (in place when
// tail has room).
func extendTail(tail []uint64, elems []elem) []uint64 {
	if len(elems) > tailLen {
		tail, elems = nil, elems[len(elems)-tailLen:]
	}
	out := make([]uint64, 0, tailLen)
	if keep := tailLen - len(elems); len(tail) > keep {
		tail = tail[len(tail)-keep:]
	}
	out = append(out, tail...)
	for i := range elems {
		out = append(out, recordSum(elems[i].raw))
	}
	return out
}

// encodeTail writes a tail as 16 hex digits per record, oldest first.
func encodeTail(tail []uint64) string {
	raw := make([]byte, 0, 8*len(tail))
	for _, s := range tail {
		raw = binary.BigEndian.AppendUint64(raw, s)
	}
	return hex.EncodeToString(raw)
}

// decodeTail reads what encodeTail wrote. A tail saved by an earlier version
// ("<second>:<count>:<CRC-64 of the records>", see legacyTail) is returned as legacy.
// Anything else is no tail: nothing is skipped on a doubt.
func decodeTail(s string) (tail []uint64, legacy legacyTail) {
	if strings.Contains(s, ":") {
		if _, err := fmt.Sscanf(s, "%d:%d:%x", &legacy.sec, &legacy.n, &legacy.crc); err != nil || legacy.n <= 0 {
			return nil, legacyTail{}
		}
		return nil, legacy
	}
	if len(s)%16 != 0 || len(s) > 16*tailLen {
		return nil, legacyTail{}
	}
	for i := 0; i < len(s); i += 16 {
		v, err := strconv.ParseUint(s[i:i+16], 16, 64)
		if err != nil {
			return nil, legacyTail{}
		}
		tail = append(tail, v)
	}
	return tail, legacyTail{}
}

// legacyTail is the tail an earlier version saved: the last n records of the last page, as
// one CRC-64 of their bytes each followed by '\n'.
type legacyTail struct {
	sec int64
	n   int
	crc uint64
}

func (l legacyTail) String() string {
	if l.n == 0 {
		return ""
	}
	return fmt.Sprintf("%d:%d:%016x", l.sec, l.n, l.crc)
}

// skipLegacy returns n when the first n records of elems are the ones l describes.
func (l legacyTail) skip(elems []elem) int {
	if l.n <= 0 || l.n > len(elems) {
		return 0
	}
	var c uint64
	for _, e := range elems[:l.n] {
		c = crc64.Update(c, crcTable, e.raw)
		c = crc64.Update(c, crcTable, []byte{'\n'})
	}
	if c != l.crc {
		return 0
	}
	return l.n
}

// skipDelivered returns how many records at the start of elems were delivered already,
// judged by their bytes against tail (the last records delivered, oldest first):
//
//   - the longest run at the start of elems that is the end of tail, record for record:
//     the delivered records of the second seeded at, when the tail holds them all;
//   - else, when tail is full, the first place where elems holds tail whole: the records up
//     to its end (more records of that second were delivered than the tail holds, so they
//     start before it);
//   - else 0, and the records are delivered again (a duplicate rather than a gap).
//
// A record that is not delivered is taken for a delivered one only when it is byte for byte
// identical to the record of the tail it is compared with (the same _id: a re-emitted
// duplicate) and every record before it matches too.
func skipDelivered(elems []elem, tail []uint64) int {
	m := len(tail)
	if m == 0 || len(elems) == 0 {
		return 0
	}
	sums := make([]uint64, 0, len(elems))
	sumAt := func(i int) uint64 {
		for len(sums) <= i {
			sums = append(sums, recordSum(elems[len(sums)].raw))
		}
		return sums[i]
	}
	for n := min(m, len(elems)); n > 0; n-- {
		if runMatches(sumAt, 0, tail[m-n:]) {
			return n
		}
	}
	if m < tailLen {
		return 0
	}
	for j := 1; j+m <= len(elems); j++ {
		if runMatches(sumAt, j, tail) {
			return j + m
		}
	}
	return 0
}

// runMatches reports whether the records from at on have the sums of want.
func runMatches(sumAt func(int) uint64, at int, want []uint64) bool {
	for i, w := range want {
		if sumAt(at+i) != w {
			return false
		}
	}
	return true
}
