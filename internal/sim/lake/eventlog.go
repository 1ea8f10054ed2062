package lake

// eventLog holds the stored events in fixed-size chunks, so that appending never copies what
// is already stored and dropping the oldest events (MaxStoredEvents) frees whole chunks.
type eventLog struct {
	chunks [][]StoredEvent
	head   int // index of the first live event in chunks[0]
	n      int
}

const logChunk = 4096

func (l *eventLog) len() int { return l.n }

func (l *eventLog) append(evs []StoredEvent) {
	for len(evs) > 0 {
		if len(l.chunks) == 0 || len(l.chunks[len(l.chunks)-1]) == logChunk {
			l.chunks = append(l.chunks, make([]StoredEvent, 0, logChunk))
		}
		last := &l.chunks[len(l.chunks)-1]
		k := min(len(evs), logChunk-len(*last))
		*last = append(*last, evs[:k]...)
		evs = evs[k:]
		l.n += k
	}
}

// dropOldest removes the k oldest events.
func (l *eventLog) dropOldest(k int) {
	for k > 0 && l.n > 0 {
		c := l.chunks[0]
		live := len(c) - l.head
		if k >= live && len(l.chunks) > 1 {
			l.chunks[0] = nil
			l.chunks = l.chunks[1:]
			l.head = 0
			l.n -= live
			k -= live
			continue
		}
		d := min(k, live)
		clear(c[l.head : l.head+d]) // let the collector have their eventData
		l.head += d
		l.n -= d
		k -= d
		if l.head == len(c) && len(c) == logChunk { // a full, spent chunk: start afresh
			l.chunks[0] = c[:0]
			l.head = 0
		}
	}
}

// each calls f for every event, oldest first, until f returns false.
func (l *eventLog) each(f func(*StoredEvent) bool) {
	for ci, c := range l.chunks {
		start := 0
		if ci == 0 {
			start = l.head
		}
		for i := start; i < len(c); i++ {
			if !f(&c[i]) {
				return
			}
		}
	}
}
