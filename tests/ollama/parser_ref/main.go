// parser_ref reads Modelfiles with Ollama's own parser package (pinned in go.mod) and prints what
// Ollama reads from each, for tests/test_modelfile_roundtrip.py to compare with publish.modelfile.
//
// stdin:  a JSON array of Modelfile texts
// stdout: a JSON array, one object per text:
//
//	{"commands": [{"name": "...", "args": "..."}],           what parser.ParseFile read
//	 "request": {"from": "...", "template": "...", ...},     what `ollama create` would send
//	 "parameters": {"name": {"kind": "float32", "value": ...}},
//	 "error": "..."}                                          when ParseFile or CreateRequest fails
//
// Parameter values keep Ollama's Go types: float32 values are printed as the exact float64 of
// the float32 (not its shortest decimal), in exponent form, so a comparison can be exact.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"

	"github.com/ollama/ollama/parser"
)

type command struct {
	Name string `json:"name"`
	Args string `json:"args"`
}

type param struct {
	Kind  string `json:"kind"`
	Value any    `json:"value"`
}

type result struct {
	Commands   []command        `json:"commands"`
	Request    map[string]any   `json:"request,omitempty"`
	Parameters map[string]param `json:"parameters,omitempty"`
	Error      string           `json:"error,omitempty"`
}

func typed(v any) param {
	switch x := v.(type) {
	case float32:
		if f := float64(x); math.IsInf(f, 0) || math.IsNaN(f) {
			return param{"float32", fmt.Sprint(f)} // JSON has no Inf/NaN: named as text
		}
		// exponent form: encoding/json would print 2^63 as 9223372036854776000, an int to Python
		return param{"float32", json.Number(strconv.FormatFloat(float64(x), 'e', -1, 64))}
	case int64:
		return param{"int64", x}
	case int:
		return param{"int64", int64(x)}
	case bool:
		return param{"bool", x}
	case *bool:
		return param{"bool", *x}
	case []string:
		return param{"[]string", x}
	case string:
		return param{"string", x}
	default:
		return param{fmt.Sprintf("%T", v), fmt.Sprint(v)}
	}
}

func read(text, dir string) (r result) {
	r.Commands = []command{}
	mf, err := parser.ParseFile(strings.NewReader(text))
	if err != nil {
		r.Error = err.Error()
		return r
	}
	for _, c := range mf.Commands {
		r.Commands = append(r.Commands, command{c.Name, c.Args})
	}
	// FROM is not looked up on disk: every FROM is read as a name (req.From, the last one wins),
	// as CreateRequest does for paths that do not exist. ("FROM .." would otherwise be a folder.)
	from := ""
	for i, c := range mf.Commands {
		if c.Name == "model" {
			from = c.Args
			mf.Commands[i].Args = "/nonexistent/parser-ref/model"
		}
	}
	req, err := mf.CreateRequest(dir)
	if err != nil {
		r.Error = err.Error()
		return r
	}
	req.From = from
	r.Request = map[string]any{"from": req.From, "template": req.Template, "system": req.System,
		"license": req.License, "files": req.Files}
	if len(req.Messages) > 0 {
		msgs := [][2]string{}
		for _, m := range req.Messages {
			msgs = append(msgs, [2]string{m.Role, m.Content})
		}
		r.Request["messages"] = msgs
	}
	r.Parameters = map[string]param{}
	for k, v := range req.Parameters {
		r.Parameters[k] = typed(v)
	}
	return r
}

func main() {
	out := os.Stdout
	os.Stdout = os.Stderr // CreateRequest prints deprecation warnings with fmt.Printf
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var texts []string
	if err := json.Unmarshal(data, &texts); err != nil {
		fmt.Fprintln(os.Stderr, "stdin must be a JSON array of strings:", err)
		os.Exit(2)
	}
	dir := "/nonexistent/parser-ref"
	results := make([]result, 0, len(texts))
	for _, t := range texts {
		results = append(results, read(t, dir))
	}
	enc := json.NewEncoder(out)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
