//go:build unix

package config

import "syscall"

// writable asks the system whether this process may write to path (for a directory: create
// entries in it, which takes write and search permission), as open would decide, without
// opening it.
func writable(path string, dir bool) error {
	const w, x = 0x2, 0x1 // W_OK, X_OK
	mode := uint32(w)
	if dir {
		mode |= x
	}
	return syscall.Access(path, mode)
}
