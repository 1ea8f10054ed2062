// Package all lists every plugin compiled into logshipper. Adding a plugin is adding its
// folder and one line here; the engine itself imports no plugin.
package all

import (
	"github.com/logshipper/logshipper/internal/plugin"
	"github.com/logshipper/logshipper/plugins/destinations/cloudtraillake"
	filedest "github.com/logshipper/logshipper/plugins/destinations/file"
	httpdest "github.com/logshipper/logshipper/plugins/destinations/http"
	"github.com/logshipper/logshipper/plugins/destinations/securitylake"
	"github.com/logshipper/logshipper/plugins/destinations/stdout"
	syslogdest "github.com/logshipper/logshipper/plugins/destinations/syslog"
	"github.com/logshipper/logshipper/plugins/sources/awss3sqs"
	"github.com/logshipper/logshipper/plugins/sources/cloudwatch"
	filesrc "github.com/logshipper/logshipper/plugins/sources/file"
	"github.com/logshipper/logshipper/plugins/sources/netskope"
)

// Registry returns a registry of every built-in plugin.
func Registry() *plugin.Registry {
	r, err := plugin.NewRegistry(
		filesrc.Factory(),
		netskope.Factory(),
		cloudwatch.Factory(),
		awss3sqs.Factory(),
		cloudtraillake.Factory(),
		securitylake.Factory(),
		filedest.Factory(),
		httpdest.Factory(),
		stdout.Factory(),
		syslogdest.Factory(),
	)
	if err != nil {
		panic(err) // two built-in plugins clash: a programming error caught by every test
	}
	return r
}
