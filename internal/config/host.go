package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
)

// CheckDirUsable reports, creating nothing, whether dir is a directory this process can write
// in, or can be created as one: the nearest part of its path that exists must be a directory
// and writable. A missing dir is fine when it can be made.
func CheckDirUsable(dir string) error {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return fmt.Errorf("%s: %w", dir, err)
	}
	for p := abs; ; p = filepath.Dir(p) {
		fi, err := os.Stat(p)
		switch {
		case (errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ENOTDIR)) && p != filepath.Dir(p):
			continue // the nearest part that exists decides
		case err != nil:
			return fmt.Errorf("%s: %w", dir, err)
		case !fi.IsDir() && p == abs:
			return fmt.Errorf("%s is a file, not a directory", dir)
		case !fi.IsDir():
			return fmt.Errorf("%s cannot be made: %s is a file, not a directory", dir, p)
		}
		if err := writable(p, true); err != nil {
			if p == abs {
				return fmt.Errorf("%s is not writable by this user (%v)", dir, err)
			}
			return fmt.Errorf("%s cannot be made: %s is not writable by this user (%v)", dir, p, err)
		}
		return nil
	}
}

// CheckFileWritable reports, creating nothing, whether the file at path can be opened for
// appending (created when missing, with its directory).
func CheckFileWritable(path string) error {
	fi, err := os.Stat(path)
	switch {
	case err == nil && fi.IsDir():
		return fmt.Errorf("%s is a directory, not a file", path)
	case err == nil:
		if err := writable(path, false); err != nil {
			return fmt.Errorf("%s is not writable by this user (%v)", path, err)
		}
		return nil
	case !errors.Is(err, fs.ErrNotExist) && !errors.Is(err, syscall.ENOTDIR):
		return fmt.Errorf("%s: %w", path, err)
	}
	return CheckDirUsable(filepath.Dir(path))
}
