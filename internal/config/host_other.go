//go:build !unix

package config

// writable is not asked of systems without access(2): run reports what it cannot write.
func writable(string, bool) error { return nil }
