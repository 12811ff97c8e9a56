package docs

import (
	"encoding/json"
	"os"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// document is the part of an OpenAPI document the tests read.
type document struct {
	OpenAPI    string                                `json:"openapi"`
	Paths      map[string]map[string]json.RawMessage `json:"paths"`
	Components map[string]map[string]json.RawMessage `json:"components"`
}

func load(t *testing.T) (document, any) {
	t.Helper()
	var doc document
	if err := json.Unmarshal(OpenAPI, &doc); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	var tree any
	if err := json.Unmarshal(OpenAPI, &tree); err != nil {
		t.Fatalf("openapi.json: %v", err)
	}
	return doc, tree
}

func TestOpenAPI_Parses(t *testing.T) {
	doc, _ := load(t)
	if doc.OpenAPI != "3.0.3" {
		t.Errorf("openapi = %q, want 3.0.3", doc.OpenAPI)
	}
	if len(doc.Paths) == 0 {
		t.Error("no paths")
	}
}

// routePattern matches a method pattern registered in api/routes.go, e.g.
// mux.Handle("POST /api/v1/commitments", ...). The catch-all "/" has no
// method and is not matched.
var routePattern = regexp.MustCompile(`mux\.Handle(?:Func)?\(\s*"([A-Z]+) (/[^"]*)"`)

// openAPIPath turns a ServeMux path into an OpenAPI path: {name} is the same
// in both, {name...} becomes {name}, and {$} is dropped.
func openAPIPath(p string) string {
	p = strings.ReplaceAll(p, "{$}", "")
	return regexp.MustCompile(`\{([A-Za-z0-9_]+)\.\.\.\}`).ReplaceAllString(p, "{$1}")
}

// routes returns "METHOD /path" for every route of api/routes.go.
func routes(t *testing.T) map[string]bool {
	t.Helper()
	src, err := os.ReadFile("../api/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]bool{}
	for _, m := range routePattern.FindAllStringSubmatch(string(src), -1) {
		// The contract is the API's; the web pages are not part of it.
		if strings.HasPrefix(m[2], "/api/") || m[2] == "/healthz" || m[2] == "/readyz" || m[2] == "/metrics" {
			out[m[1]+" "+openAPIPath(m[2])] = true
		}
	}
	if len(out) == 0 {
		t.Fatal("no routes found in ../api/routes.go")
	}
	return out
}

var httpMethods = map[string]bool{"get": true, "put": true, "post": true, "delete": true, "options": true, "head": true, "patch": true, "trace": true}

func TestOpenAPI_DocumentsEveryRoute(t *testing.T) {
	doc, _ := load(t)
	rs := routes(t)
	for r := range rs {
		method, path, _ := strings.Cut(r, " ")
		if _, ok := doc.Paths[path][strings.ToLower(method)]; !ok {
			t.Errorf("route %s is not in openapi.json", r)
		}
	}
	// And nothing is documented that the server does not serve.
	for path, item := range doc.Paths {
		for method := range item {
			if httpMethods[method] && !rs[strings.ToUpper(method)+" "+path] {
				t.Errorf("openapi.json documents %s %s, which api/routes.go does not serve", strings.ToUpper(method), path)
			}
		}
	}
}

// refs collects every $ref in a decoded JSON tree.
func refs(v any, out *[]string) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" {
				*out = append(*out, s)
				continue
			}
			refs(x, out)
		}
	case []any:
		for _, x := range v {
			refs(x, out)
		}
	}
}

// resolve follows a local JSON pointer such as #/components/schemas/Quantity.
func resolve(tree any, ref string) (any, bool) {
	ptr, ok := strings.CutPrefix(ref, "#/")
	if !ok {
		return nil, false
	}
	cur := tree
	for _, tok := range strings.Split(ptr, "/") {
		tok = strings.ReplaceAll(strings.ReplaceAll(tok, "~1", "/"), "~0", "~")
		m, ok := cur.(map[string]any)
		if !ok {
			return nil, false
		}
		if cur, ok = m[tok]; !ok {
			return nil, false
		}
	}
	return cur, true
}

func TestOpenAPI_RefsResolve(t *testing.T) {
	_, tree := load(t)
	var all []string
	refs(tree, &all)
	if len(all) == 0 {
		t.Fatal("no $ref found")
	}
	for _, r := range all {
		if !strings.HasPrefix(r, "#/components/") {
			t.Errorf("$ref %q does not point into components", r)
			continue
		}
		if _, ok := resolve(tree, r); !ok {
			t.Errorf("$ref %q does not resolve", r)
		}
	}
}

// TestOpenAPI_PathParameters checks that every {name} in a path is declared
// as a required path parameter of each of its operations.
func TestOpenAPI_PathParameters(t *testing.T) {
	doc, tree := load(t)
	brace := regexp.MustCompile(`\{([^}]+)\}`)
	for path, item := range doc.Paths {
		var want []string
		for _, m := range brace.FindAllStringSubmatch(path, -1) {
			want = append(want, m[1])
		}
		sort.Strings(want)
		for method, raw := range item {
			if !httpMethods[method] {
				continue
			}
			var op struct {
				Parameters []map[string]any `json:"parameters"`
			}
			if err := json.Unmarshal(raw, &op); err != nil {
				t.Fatalf("%s %s: %v", method, path, err)
			}
			var got []string
			for _, p := range op.Parameters {
				if r, ok := p["$ref"].(string); ok {
					v, ok := resolve(tree, r)
					if !ok {
						continue // reported by TestOpenAPI_RefsResolve
					}
					p, _ = v.(map[string]any)
				}
				if p["in"] == "path" {
					if p["required"] != true {
						t.Errorf("%s %s: path parameter %v is not required", method, path, p["name"])
					}
					got = append(got, p["name"].(string))
				}
			}
			sort.Strings(got)
			if strings.Join(got, ",") != strings.Join(want, ",") {
				t.Errorf("%s %s: path parameters %v, want %v", method, path, got, want)
			}
		}
	}
}
