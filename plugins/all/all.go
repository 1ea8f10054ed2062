// Package all lists every plugin compiled into logshipper. Adding a plugin is adding its
// folder and one line here; the engine itself imports no plugin.
package all

import (
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
	filedest "github.com/logshipper/logshipper/plugins/destinations/file"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
	"github.com/logshipper/logshipper/plugins/sources/netskope"
)

// Registry returns a registry of every built-in plugin.
func Registry() *plugin.Registry {
	r, err := plugin.NewRegistry(
		filesrc.Factory(),
		netskope.Factory(),
		cloudtraillake.Factory(),
		filedest.Factory(),
		stdout.Factory(),
	)
	if err != nil {
		panic(err) // two built-in plugins clash: a programming error caught by every test
	}
	return r
}
