//go:build !unix

package file

import "os"

func fileID(path string, _ os.FileInfo) string { return "path:" + path }
