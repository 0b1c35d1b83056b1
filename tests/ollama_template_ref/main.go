// Reference renderer: Ollama's own template package (github.com/ollama/ollama/template, at the
// version go.mod pins), called the way server/prompt.go renderPrompt calls it for /api/chat:
// template.Parse(text) then Execute(Values{Messages, Tools, Think, ThinkLevel, IsThinkSet}).
// Messages are decoded with api.Message's own UnmarshalJSON (which lowercases roles, as the
// server's request decoding does); images are dropped (no case carries any).
//
// A case with "raw": true instead executes the template with plain Go text/template (with Ollama's function map) over JSON
// "data" (the language itself, no Ollama rules), with option missingkey=<"missingkey">.
//
// stdin:  JSON array of {"template", "messages", "tools", "think", "think_level", "is_think_set",
//
//	"repeat", "raw", "data", "missingkey"} (messages and tools in Ollama's API JSON;
//	repeat > 0 also times that many renders: the best round of about 1 ms)
//
// stdout: JSON array of {"output", "error", "ns_per_render"}
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/template"
)

type request struct {
	Template   string        `json:"template"`
	Messages   []api.Message `json:"messages"`
	Tools      []api.Tool    `json:"tools"`
	Think      bool          `json:"think"`
	ThinkLevel string        `json:"think_level"`
	IsThinkSet bool          `json:"is_think_set"`
	Repeat     int           `json:"repeat"`

	Raw        bool            `json:"raw"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
}

type result struct {
	Output      string  `json:"output"`
	Error       string  `json:"error,omitempty"`
	NsPerRender float64 `json:"ns_per_render,omitempty"`
}

func render(t *template.Template, r request) (_ string, err error) {
	// a panic inside Execute is a 500 from the server (gin's recovery): report it as an error
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic: %v", p)
		}
	}()
	var b bytes.Buffer
	// collate() merges consecutive messages into the caller's slice: give it a copy, as
	// chatPrompt does (slices.Clone(msgs))
	msgs := slices.Clone(r.Messages)
	for i := range msgs {
		msgs[i].Images = nil
	}
	err = t.Execute(&b, template.Values{Messages: msgs, Tools: r.Tools,
		Think: r.Think, ThinkLevel: r.ThinkLevel, IsThinkSet: r.IsThinkSet})
	return b.String(), err
}

// numbers turns JSON numbers into Go ints (no fraction or exponent) or float64s.
func numbers(v any) any {
	switch x := v.(type) {
	case json.Number:
		if !strings.ContainsAny(string(x), ".eE") {
			if i, err := x.Int64(); err == nil {
				return int(i)
			}
		}
		f, _ := x.Float64()
		return f
	case map[string]any:
		for k, e := range x {
			x[k] = numbers(e)
		}
	case []any:
		for i, e := range x {
			x[i] = numbers(e)
		}
	}
	return v
}

func runRaw(r request) (string, error) {
	var data any
	if len(r.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(r.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return "", err
		}
		data = numbers(data)
	}
	// a template associated with one Ollama parsed shares its function map (json, currentDate,
	// toTypeScriptType, ...): Ollama's own functions on plain text/template, no prompt rules
	ollama, err := template.Parse("")
	if err != nil {
		return "", err
	}
	mk := r.MissingKey
	if mk == "" {
		mk = "default"
	}
	t, err := ollama.Template.New("template").Option("missingkey=" + mk).Parse(r.Template)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

func main() {
	var reqs []request
	if err := json.NewDecoder(os.Stdin).Decode(&reqs); err != nil {
		os.Stderr.WriteString(err.Error())
		os.Exit(2)
	}
	out := make([]result, 0, len(reqs))
	for _, r := range reqs {
		if r.Raw {
			text, err := runRaw(r)
			res := result{Output: text}
			if err != nil {
				res.Error = err.Error()
			}
			out = append(out, res)
			continue
		}
		t, err := template.Parse(r.Template)
		if err != nil {
			out = append(out, result{Error: err.Error()})
			continue
		}
		text, err := render(t, r)
		res := result{Output: text}
		if err != nil {
			res.Error = err.Error()
		}
		if r.Repeat > 0 && err == nil {
			// rounds of about 1 ms, the best one counts: on a machine shared by more processes than
			// cores, a round shorter than a scheduler slice often runs uninterrupted, and a slow
			// round (another process, a GC cycle) says little about the template
			start := time.Now()
			render(t, r)
			n := max(min(int(time.Millisecond/max(time.Since(start), 1)), r.Repeat), 1)
			for done := 0; done < r.Repeat; done += n {
				start := time.Now()
				for i := 0; i < n; i++ {
					render(t, r)
				}
				ns := float64(time.Since(start).Nanoseconds()) / float64(n)
				if done == 0 || ns < res.NsPerRender {
					res.NsPerRender = ns
				}
			}
		}
		out = append(out, res)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	enc.Encode(out)
}
