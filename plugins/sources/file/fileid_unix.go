//go:build unix

package file

import (
	"fmt"
	"os"
	"syscall"
)

// fileID names a file by device and inode, so a renamed (rotated) file keeps its position and a
// new file under the old name starts afresh.
func fileID(path string, fi os.FileInfo) string {
	if st, ok := fi.Sys().(*syscall.Stat_t); ok {
		return fmt.Sprintf("%d:%d", st.Dev, st.Ino)
	}
	return "path:" + path
}
