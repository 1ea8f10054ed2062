package netconf

import _ "embed"

// README is this package's README.md: the one description of the `proxy` and `tls` sections
// that plugins share, for what shows their options outside the repository (the console's forms).
//
//go:embed README.md
var README []byte
