// Package templates holds the file templates fleiogen embeds: the Django
// settings module and the scripts its Jobs run. Kubernetes objects are never
// templated; they are built as typed structs in package generator.
package templates

import "embed"

// FS holds every template, read with text/template and missingkey=error.
//
//go:embed *.tmpl *.sh *.py
var FS embed.FS
