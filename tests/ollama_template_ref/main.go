// Reference renderer: Ollama's own template package (github.com/ollama/ollama/template, v0.24.0),
// called the way server/prompt.go renderPrompt calls it for /api/chat:
// template.Parse(text) then Execute(Values{Messages, Tools, Think, ThinkLevel, IsThinkSet}).
//
// stdin:  JSON array of {"template", "messages", "tools", "think", "is_think_set", "repeat"}
//         (messages and tools in Ollama's API JSON; repeat > 0 also times that many renders)
// stdout: JSON array of {"output", "error", "ns_per_render"}
package main

import (
	"bytes"
	"encoding/json"
	"os"
	"slices"
	"time"

	"github.com/ollama/ollama/api"
	"github.com/ollama/ollama/template"
)

type request struct {
	Template   string        `json:"template"`
	Messages   []api.Message `json:"messages"`
	Tools      []api.Tool    `json:"tools"`
	Think      bool          `json:"think"`
	IsThinkSet bool          `json:"is_think_set"`
	Repeat     int           `json:"repeat"`
}

type result struct {
	Output      string  `json:"output"`
	Error       string  `json:"error,omitempty"`
	NsPerRender float64 `json:"ns_per_render,omitempty"`
}

func render(t *template.Template, r request) (string, error) {
	var b bytes.Buffer
	// collate() merges consecutive messages into the caller's slice: give it a copy, as
	// chatPrompt does (slices.Clone(msgs))
	err := t.Execute(&b, template.Values{Messages: slices.Clone(r.Messages), Tools: r.Tools,
		Think: r.Think, IsThinkSet: r.IsThinkSet})
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
			start := time.Now()
			for i := 0; i < r.Repeat; i++ {
				render(t, r)
			}
			res.NsPerRender = float64(time.Since(start).Nanoseconds()) / float64(r.Repeat)
		}
		out = append(out, res)
	}
	json.NewEncoder(os.Stdout).Encode(out)
}
