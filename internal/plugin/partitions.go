package plugin

import (
	"context"
	"errors"
	"time"
)

// Partitions decides which partitions of a source this process reads. In a single process it
// owns them all; in cluster mode (several logshipper processes running one configuration) each
// partition has one owner at a time, held through a lease, and moves to another process when
// its owner dies, leaves or the partitions are spread again.
//
// A source with partitions (a Netskope tenant × endpoint, an AWS region × log group) calls
// Acquire for each before reading it, reads it under the lease's context, and, when that
// context ends while its own does not, stops reading, waits until every batch it published is
// acknowledged or nacked, and calls Release — then Acquires the partition again, which blocks
// until this process owns it again. Its positions are then read anew from the state store: the
// process that owned the partition meanwhile has moved them.
type Partitions interface {
	// Acquire blocks until this process owns the partition key (unique within the source,
	// e.g. "alerts/dlp" or "us-east-1/aws-cloudtrail-logs") or ctx ends (ctx's error).
	Acquire(ctx context.Context, key string) (Lease, error)
}

// Lease is a source's ownership of one partition.
type Lease interface {
	// Context ends when the partition must no longer be read: the lease was lost (its owner
	// could not renew it in time) or is being handed to another process. It also ends with the
	// context given to Acquire.
	Context() context.Context
	// Release gives the partition up. Call it once every batch read under the lease is
	// acknowledged or nacked, so the next owner starts from a position nothing is in flight
	// past. Calling it more than once is harmless.
	Release()
}

// ProgressLease is a Lease that carries how far its partition has got, for `logshipper cluster
// status` and the partition lag metric of cluster mode. A single process's leases are not
// ProgressLeases; a source calls ReportProgress, which needs no check.
type ProgressLease interface {
	// Progress records at, the time of the latest data of the partition that is delivered and
	// whose position is saved (the source's own clock of its data: a Netskope page's
	// timestamp_hwm, a CloudWatch window's end). The latest call wins.
	Progress(at time.Time)
}

// ReportProgress tells l how far its partition has got (ProgressLease.Progress) when l carries
// progress, and does nothing otherwise. A source calls it with the time its saved position
// stands for, when it reads the position at the lease's start and after each save.
func ReportProgress(l Lease, at time.Time) {
	if pl, ok := l.(ProgressLease); ok && !at.IsZero() {
		pl.Progress(at)
	}
}

// ErrNotOwner is returned (wrapped) by a state store write that ownership fencing refused: the
// partition moved to another process, which wrote a newer value. The writer must stop reading
// the partition; what it delivered since is delivered again by the new owner (at least once).
var ErrNotOwner = errors.New("this process no longer owns the partition")

// AllPartitions is the Partitions of a single process: it owns every partition, at once and
// for as long as the context given to Acquire lasts.
type AllPartitions struct{}

var _ Partitions = AllPartitions{}

// Acquire implements Partitions.
func (AllPartitions) Acquire(ctx context.Context, _ string) (Lease, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	return ownLease{ctx}, nil
}

type ownLease struct{ ctx context.Context }

func (l ownLease) Context() context.Context { return l.ctx }
func (ownLease) Release()                   {}
