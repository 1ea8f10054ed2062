package loadrun

import (
	"fmt"
	"sync"
	"time"
)

// stallWatch notices when this process was not run for a while because the whole machine
// stalled: memory exhausted and the kernel reclaiming, for minutes, until its out-of-memory
// killer ends a process; or a frozen host. Such a stall holds up the shipper, the service it
// reads (moto_server answers nothing) and this process alike, so it says nothing of the
// shipper. A goroutine wakes every period; a wake-up later than that by more than minStall is
// a stall. The run loops do not count stalls towards -stall, and the run's note says how long
// they were.
type stallWatch struct {
	period, minStall time.Duration

	mu    sync.Mutex
	last  time.Time     // the last wake-up
	total time.Duration // the stalls seen, summed
	count int

	stop chan struct{}
	done chan struct{}
}

// Defaults of the watch of a run: a stall is a wake-up 5 s later than due.
const (
	stallPeriod = 100 * time.Millisecond
	minStall    = 5 * time.Second
)

func newStallWatch(period, minStall time.Duration, now time.Time) *stallWatch {
	return &stallWatch{period: period, minStall: minStall, last: now}
}

// watchStalls starts a watch that wakes every stallPeriod.
func watchStalls() *stallWatch {
	w := newStallWatch(stallPeriod, minStall, time.Now())
	w.stop, w.done = make(chan struct{}), make(chan struct{})
	go func() {
		defer close(w.done)
		t := time.NewTicker(w.period)
		defer t.Stop()
		for {
			select {
			case <-w.stop:
				return
			case <-t.C:
				w.observe(time.Now())
			}
		}
	}()
	return w
}

// observe is a wake-up at now.
func (w *stallWatch) observe(now time.Time) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if late := now.Sub(w.last) - w.period; late > w.minStall {
		w.total += late
		w.count++
	}
	w.last = now
}

// stalled returns the stalls seen so far: how long in all, and how many.
func (w *stallWatch) stalled() (time.Duration, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.total, w.count
}

// close stops the watch's goroutine (a watch from newStallWatch has none).
func (w *stallWatch) close() {
	if w.stop != nil {
		close(w.stop)
		<-w.done
	}
}

// note is what the run's note says of the stalls, "" when there was none.
func (w *stallWatch) note() string {
	total, n := w.stalled()
	if n == 0 {
		return ""
	}
	return fmt.Sprintf("the machine stalled %d times, %s in all (this process was not run: memory exhausted? see dmesg): not counted towards -stall, counted in the wall time, so the row is not comparable",
		n, total.Round(time.Second))
}

// addNote appends a sentence to a run's note.
func addNote(note, more string) string {
	switch {
	case more == "":
		return note
	case note == "":
		return more
	}
	return note + "; " + more
}

// discount is a run loop's look at the watch at now (a wake-up of its own, so that a stall is
// seen by whichever of the two runs first after it): the stalls seen since the last look, whose
// total so far *seen holds.
func (w *stallWatch) discount(now time.Time, seen *time.Duration) time.Duration {
	w.observe(now)
	total, _ := w.stalled()
	d := total - *seen
	*seen = total
	return d
}
