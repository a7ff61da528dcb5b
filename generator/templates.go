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
// in this package, and the golden tests render every one.
func mustTemplate(name string) string {
	s, ok := staticFiles[name]
	if !ok {
		panic("fleiogen: no embedded template " + name)
	}
	return s
}

// parsedTemplates are the embedded *.tmpl files, parsed once with
// missingkey=error and the functions they use.
var parsedTemplates = func() map[string]*template.Template {
	out := map[string]*template.Template{}
	funcs := template.FuncMap{"py": pyTemplateFunc}
	for name, text := range staticFiles {
		if !strings.HasSuffix(name, ".tmpl") {
			continue
		}
		// Embedded at build time: a parse error fails every test.
		out[name] = template.Must(template.New(name).Option("missingkey=error").Funcs(funcs).Parse(text))
	}
	return out
}()

// executeTemplate runs an embedded text template. Templates are safe for
// concurrent use.
func executeTemplate(name string, data any) (string, error) {
	t, ok := parsedTemplates[name]
	if !ok {
		panic("fleiogen: no embedded template " + name)
	}
	var b strings.Builder
	if err := t.Execute(&b, data); err != nil {
		return "", fmt.Errorf("template %s: %w", name, err)
	}
	return b.String(), nil
}
