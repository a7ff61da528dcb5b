package generator

import (
	"fmt"
	"io/fs"
	"strings"
	"text/template"

	"github.com/fleiogen/fleiogen/templates"
)

// staticFiles are the embedded scripts used as they are.
var staticFiles = func() map[string]string {
	out := map[string]string{}
	entries, err := fs.ReadDir(templates.FS, ".")
	if err != nil {
		panic(err) // embedded at build time; cannot fail at run time
	}
	for _, e := range entries {
		data, err := fs.ReadFile(templates.FS, e.Name())
		if err != nil {
			panic(err)
		}
		out[e.Name()] = string(data)
	}
	return out
}()

// mustTemplate returns an embedded script by name. The names are constants
// in this package and TestTemplatesExist checks each one.
func mustTemplate(name string) string {
	s, ok := staticFiles[name]
	if !ok {
		panic("fleiogen: no embedded template " + name)
	}
	return s
}

// executeTemplate runs an embedded text template with missingkey=error.
func executeTemplate(name string, data any) (string, error) {
	return executeTemplateFuncs(name, data, nil)
}

func executeTemplateFuncs(name string, data any, funcs template.FuncMap) (string, error) {
	t, err := template.New(name).Option("missingkey=error").Funcs(funcs).Parse(mustTemplate(name))
	if err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}
