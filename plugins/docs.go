// Package plugins holds the README of every plugin folder, for what shows a plugin's options
// outside the repository (the console's forms take their field help from them).
package plugins

import "embed"

// READMEs holds sources/<plugin>/README.md and destinations/<plugin>/README.md of every plugin
// folder.
//
//go:embed sources/*/README.md destinations/*/README.md
var READMEs embed.FS
