// Reference for publish.gotmpl.thinking_tags: Ollama's own thinking.InferTags on templates parsed
// by Ollama's own template.Parse (github.com/ollama/ollama v0.24.0, the pinned server).
// stdin: JSON array of template texts; stdout: JSON array of [opening, closing] or {"error": ...}.
package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"

	"github.com/ollama/ollama/template"
	"github.com/ollama/ollama/thinking"
)

func main() {
	data, err := io.ReadAll(os.Stdin)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	var texts []string
	if err := json.Unmarshal(data, &texts); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
	out := make([]any, 0, len(texts))
	for _, text := range texts {
		t, err := template.Parse(text)
		if err != nil {
			out = append(out, map[string]string{"error": err.Error()})
			continue
		}
		open, closing := thinking.InferTags(t.Template)
		out = append(out, []string{open, closing})
	}
	if err := json.NewEncoder(os.Stdout).Encode(out); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(2)
	}
}
