// Reference renderer for the differential tests of publish.gotmpl.
//
// Reads a JSON array of cases on stdin and writes a JSON array of {output, error} on stdout.
// Each case is either "raw" (execute a template over JSON data, like template.Execute) or an
// Ollama chat render: the prompt-building rules of Ollama's server (collate messages, execute once
// over .Messages, or the legacy System/Prompt/Response loop whose last run is cut after the
// first .Response), applied with Go's real text/template. The Go types below mirror the ones
// Ollama passes to templates (field names, JSON tags and String methods).
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"sort"
	"strings"
	"text/template"
	"text/template/parse"
	"time"
)

// ---- values a template sees ----------------------------------------------------------------

type PropertyType []string

func (pt *PropertyType) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*pt = PropertyType{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*pt = many
	return nil
}

func (pt PropertyType) MarshalJSON() ([]byte, error) {
	if len(pt) == 1 {
		return json.Marshal(pt[0])
	}
	return json.Marshal([]string(pt))
}

func (pt PropertyType) String() string {
	switch len(pt) {
	case 0:
		return ""
	case 1:
		return pt[0]
	}
	return fmt.Sprintf("%v", []string(pt))
}

// PropertiesMap keeps the order properties were written in, for JSON output.
type PropertiesMap struct {
	keys []string
	vals map[string]ToolProperty
}

func (m *PropertiesMap) UnmarshalJSON(b []byte) error {
	dec := json.NewDecoder(bytes.NewReader(b))
	if _, err := dec.Token(); err != nil {
		return err
	}
	m.vals = map[string]ToolProperty{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key := tok.(string)
		var p ToolProperty
		if err := dec.Decode(&p); err != nil {
			return err
		}
		if _, seen := m.vals[key]; !seen {
			m.keys = append(m.keys, key)
		}
		m.vals[key] = p
	}
	return nil
}

func (m PropertiesMap) MarshalJSON() ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte('{')
	for i, k := range m.keys {
		if i > 0 {
			buf.WriteByte(',')
		}
		kb, _ := json.Marshal(k)
		vb, err := json.Marshal(m.vals[k])
		if err != nil {
			return nil, err
		}
		buf.Write(kb)
		buf.WriteByte(':')
		buf.Write(vb)
	}
	buf.WriteByte('}')
	return buf.Bytes(), nil
}

func (m *PropertiesMap) plain() map[string]ToolProperty {
	if m == nil || m.vals == nil {
		return nil
	}
	out := make(map[string]ToolProperty, len(m.vals))
	for k, v := range m.vals {
		out[k] = v
	}
	return out
}

type ToolProperty struct {
	AnyOf       []ToolProperty `json:"anyOf,omitempty"`
	Type        PropertyType   `json:"type,omitempty"`
	Items       any            `json:"items,omitempty"`
	Description string         `json:"description,omitempty"`
	Enum        []any          `json:"enum,omitempty"`
	Properties  *PropertiesMap `json:"properties,omitempty"`
	Required    []string       `json:"required,omitempty"`
}

var tsNames = map[string]string{
	"string": "string", "number": "number", "integer": "number", "boolean": "boolean",
	"array": "any[]", "object": "Record<string, any>", "null": "null",
}

func (p ToolProperty) ToTypeScriptType() string {
	var parts []string
	if len(p.AnyOf) > 0 {
		for _, a := range p.AnyOf {
			parts = append(parts, a.ToTypeScriptType())
		}
		return strings.Join(parts, " | ")
	}
	if len(p.Type) == 0 {
		return "any"
	}
	for _, t := range p.Type {
		name, ok := tsNames[t]
		if !ok {
			name = "any"
		}
		parts = append(parts, name)
	}
	return strings.Join(parts, " | ")
}

type Properties map[string]ToolProperty

func (p Properties) String() string {
	if p == nil {
		return "{}"
	}
	b, _ := json.Marshal(p)
	return string(b)
}

type Params struct {
	Type       string     `json:"type"`
	Defs       any        `json:"$defs,omitempty"`
	Items      any        `json:"items,omitempty"`
	Required   []string   `json:"required,omitempty"`
	Properties Properties `json:"properties"`
}

type Function struct {
	Name        string `json:"name"`
	Description string `json:"description"`
	Parameters  Params `json:"parameters"`
}

type Tool struct {
	Type     string   `json:"type"`
	Items    any      `json:"items,omitempty"`
	Function Function `json:"function"`
}

type Tools []Tool

func (t Tools) String() string {
	b, _ := json.Marshal(t)
	return string(b)
}

type Args map[string]any

func (a Args) String() string {
	if a == nil {
		return "{}"
	}
	b, _ := json.Marshal(a)
	return string(b)
}

type CallFunction struct {
	Index     int
	Name      string
	Arguments Args
}

type Call struct {
	ID       string
	Function CallFunction
}

type Message struct {
	Role       string
	Content    string
	Thinking   string
	Images     [][]byte
	ToolCalls  []Call
	ToolName   string
	ToolCallID string
}

// ---- wire format of the cases ----------------------------------------------------------------

type inProperty struct {
	AnyOf       []inProperty   `json:"anyOf"`
	Type        PropertyType   `json:"type"`
	Items       any            `json:"items"`
	Description string         `json:"description"`
	Enum        []any          `json:"enum"`
	Properties  *PropertiesMap `json:"properties"`
	Required    []string       `json:"required"`
}

type inTool struct {
	Type     string `json:"type"`
	Items    any    `json:"items"`
	Function struct {
		Name        string `json:"name"`
		Description string `json:"description"`
		Parameters  struct {
			Type       string                   `json:"type"`
			Defs       any                      `json:"$defs"`
			Items      any                      `json:"items"`
			Required   []string                 `json:"required"`
			Properties *map[string]ToolProperty `json:"properties"`
		} `json:"parameters"`
	} `json:"function"`
}

type inMessage struct {
	Role      string `json:"role"`
	Content   string `json:"content"`
	Thinking  string `json:"thinking"`
	ToolName  string `json:"tool_name"`
	ToolID    string `json:"tool_call_id"`
	ToolCalls []struct {
		ID       string `json:"id"`
		Function struct {
			Index     int             `json:"index"`
			Name      string          `json:"name"`
			Arguments *map[string]any `json:"arguments"`
		} `json:"function"`
	} `json:"tool_calls"`
}

type inCase struct {
	Template   string          `json:"template"`
	Messages   []inMessage     `json:"messages"`
	Tools      json.RawMessage `json:"tools"`
	Raw        bool            `json:"raw"`
	Data       json.RawMessage `json:"data"`
	MissingKey string          `json:"missingkey"`
	Think      bool            `json:"think"`
}

type result struct {
	Output string `json:"output"`
	Error  string `json:"error,omitempty"`
}

var funcs = template.FuncMap{
	"json": func(v any) string {
		b, _ := json.Marshal(v)
		return string(b)
	},
	"currentDate": func(args ...string) string {
		return time.Now().Format("2006-01-02")
	},
	"yesterdayDate": func(args ...string) string {
		return time.Now().AddDate(0, 0, -1).Format("2006-01-02")
	},
	"toTypeScriptType": func(v any) string {
		switch p := v.(type) {
		case ToolProperty:
			return p.ToTypeScriptType()
		case *ToolProperty:
			if p != nil {
				return p.ToTypeScriptType()
			}
		}
		return "any"
	},
}

// numbers decodes JSON numbers as int when they have no fraction or exponent, else float64.
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

func runRaw(c inCase) (string, error) {
	var data any
	if len(c.Data) > 0 {
		dec := json.NewDecoder(bytes.NewReader(c.Data))
		dec.UseNumber()
		if err := dec.Decode(&data); err != nil {
			return "", err
		}
		data = numbers(data)
	}
	t := template.New("template").Funcs(funcs)
	if c.MissingKey != "" {
		t = t.Option("missingkey=" + c.MissingKey)
	}
	t, err := t.Parse(c.Template)
	if err != nil {
		return "", err
	}
	var b bytes.Buffer
	err = t.Execute(&b, data)
	return b.String(), err
}

// ---- Ollama's prompt rules -------------------------------------------------------------------

// names collects the field and variable identifiers mentioned in a node, as Ollama decides
// whether a template is a .Messages template.
func names(n parse.Node) ([]string, error) {
	var out []string
	switch n := n.(type) {
	case *parse.ListNode:
		for _, c := range n.Nodes {
			more, err := names(c)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	case *parse.TemplateNode:
		if n.Pipe == nil {
			return nil, errors.New("undefined template specified")
		}
		return names(n.Pipe)
	case *parse.ActionNode:
		return names(n.Pipe)
	case *parse.IfNode:
		return branchNames(&n.BranchNode)
	case *parse.RangeNode:
		return branchNames(&n.BranchNode)
	case *parse.WithNode:
		return branchNames(&n.BranchNode)
	case *parse.PipeNode:
		for _, cmd := range n.Cmds {
			for _, a := range cmd.Args {
				more, err := names(a)
				if err != nil {
					return nil, err
				}
				out = append(out, more...)
			}
		}
	case *parse.FieldNode:
		return n.Ident, nil
	case *parse.VariableNode:
		return n.Ident, nil
	}
	return out, nil
}

func branchNames(b *parse.BranchNode) ([]string, error) {
	out, err := names(b.Pipe)
	if err != nil {
		return nil, err
	}
	for _, l := range []*parse.ListNode{b.List, b.ElseList} {
		if l != nil {
			more, err := names(l)
			if err != nil {
				return nil, err
			}
			out = append(out, more...)
		}
	}
	return out, nil
}

func mentions(t *template.Template) (map[string]bool, error) {
	set := map[string]bool{}
	for _, tt := range t.Templates() {
		for _, n := range tt.Root.Nodes {
			ns, err := names(n)
			if err != nil {
				return nil, err
			}
			for _, s := range ns {
				set[strings.ToLower(s)] = true
			}
		}
	}
	return set, nil
}

var errElseAfterCut = errors.New("else branch after the cut (Ollama panics here)")

// cutAfterResponse removes every node that comes after the first .Response field in walk order.
type cutter struct{ done bool }

func (c *cutter) gone(n parse.Node) bool {
	if f, ok := n.(*parse.FieldNode); ok {
		for _, id := range f.Ident {
			if id == "Response" {
				c.done = true
				return false
			}
		}
	}
	return c.done
}

func (c *cutter) list(l *parse.ListNode) (*parse.ListNode, error) {
	if c.gone(l) {
		return nil, nil
	}
	var kept []parse.Node
	for _, n := range l.Nodes {
		k, err := c.node(n)
		if err != nil {
			return nil, err
		}
		if k != nil {
			kept = append(kept, k)
		}
	}
	l.Nodes = kept
	return l, nil
}

func (c *cutter) branch(b *parse.BranchNode) error {
	if c.gone(b) {
		return errElseAfterCut
	}
	l, err := c.list(b.List)
	if err != nil {
		return err
	}
	if l == nil {
		return errElseAfterCut
	}
	b.List = l
	if b.ElseList != nil {
		e, err := c.list(b.ElseList)
		if err != nil {
			return err
		}
		if e == nil {
			return errElseAfterCut
		}
		b.ElseList = e
	}
	return nil
}

func (c *cutter) pipe(p *parse.PipeNode) *parse.PipeNode {
	if c.gone(p) {
		return nil
	}
	var cmds []*parse.CommandNode
	for _, cmd := range p.Cmds {
		var args []parse.Node
		for _, a := range cmd.Args {
			var k parse.Node = a
			if c.gone(a) {
				k = nil
			} else if inner, ok := a.(*parse.PipeNode); ok {
				if r := c.pipe(inner); r != nil {
					k = r
				} else {
					k = nil
				}
			}
			if k != nil {
				args = append(args, k)
			}
		}
		if len(args) == 0 {
			return nil
		}
		cmd.Args = args
		cmds = append(cmds, cmd)
	}
	if len(cmds) == 0 {
		return nil
	}
	p.Cmds = cmds
	return p
}

func (c *cutter) node(n parse.Node) (parse.Node, error) {
	if c.gone(n) {
		return nil, nil
	}
	switch n := n.(type) {
	case *parse.ListNode:
		l, err := c.list(n)
		if l == nil {
			return nil, err
		}
		return l, err
	case *parse.IfNode:
		return n, c.branch(&n.BranchNode)
	case *parse.RangeNode:
		return n, c.branch(&n.BranchNode)
	case *parse.WithNode:
		return n, c.branch(&n.BranchNode)
	case *parse.ActionNode:
		p := c.pipe(n.Pipe)
		if p == nil {
			return nil, nil
		}
		n.Pipe = p
	}
	return n, nil
}

type collated struct {
	role, content string
	src           inMessage
}

func runOllama(c inCase) (string, error) {
	tmpl, err := template.New("").Option("missingkey=zero").Funcs(funcs).Parse(c.Template)
	if err != nil {
		return "", err
	}
	vars, err := mentions(tmpl)
	if err != nil {
		return "", err
	}
	if !vars["messages"] && !vars["response"] {
		resp := &parse.ActionNode{NodeType: parse.NodeAction, Pipe: &parse.PipeNode{
			NodeType: parse.NodePipe, Cmds: []*parse.CommandNode{{NodeType: parse.NodeCommand,
				Args: []parse.Node{&parse.FieldNode{NodeType: parse.NodeField, Ident: []string{"Response"}}}}}}}
		tmpl.Tree.Root.Nodes = append(tmpl.Tree.Root.Nodes, resp)
	}

	var systems []string
	var msgs []collated
	for _, m := range c.Messages {
		if m.Role == "system" {
			systems = append(systems, m.Content)
		}
		if len(msgs) > 0 && msgs[len(msgs)-1].role == m.Role && m.Role != "tool" {
			msgs[len(msgs)-1].content += "\n\n" + m.Content
		} else {
			msgs = append(msgs, collated{m.Role, m.Content, m})
		}
	}
	system := strings.Join(systems, "\n\n")

	if vars["messages"] {
		var tools Tools
		if len(c.Tools) > 0 && string(c.Tools) != "null" {
			var in []inTool
			if err := json.Unmarshal(c.Tools, &in); err != nil {
				return "", err
			}
			tools = make(Tools, len(in))
			for i, t := range in {
				var props Properties
				if t.Function.Parameters.Properties != nil {
					props = Properties(*t.Function.Parameters.Properties)
				}
				tools[i] = Tool{Type: t.Type, Items: t.Items, Function: Function{
					Name: t.Function.Name, Description: t.Function.Description,
					Parameters: Params{Type: t.Function.Parameters.Type, Defs: t.Function.Parameters.Defs,
						Items: t.Function.Parameters.Items, Required: t.Function.Parameters.Required,
						Properties: props}}}
			}
		}
		var messages []*Message
		for _, m := range msgs {
			var calls []Call
			for _, tc := range m.src.ToolCalls {
				var args Args
				if tc.Function.Arguments != nil {
					args = Args(*tc.Function.Arguments)
				}
				calls = append(calls, Call{ID: tc.ID, Function: CallFunction{
					Index: tc.Function.Index, Name: tc.Function.Name, Arguments: args}})
			}
			messages = append(messages, &Message{Role: m.role, Content: m.content,
				Thinking: m.src.Thinking, ToolCalls: calls, ToolName: m.src.ToolName,
				ToolCallID: m.src.ToolID})
		}
		var b bytes.Buffer
		err := tmpl.Execute(&b, map[string]any{
			"System": system, "Messages": messages, "Tools": tools, "Response": "",
			"Think": c.Think, "ThinkLevel": "", "IsThinkSet": false,
		})
		return b.String(), err
	}

	var b bytes.Buffer
	var prompt, response string
	system = ""
	values := func() map[string]any {
		return map[string]any{"System": system, "Prompt": prompt, "Response": response,
			"Think": c.Think, "ThinkLevel": "", "IsThinkSet": false}
	}
	flush := func() error {
		if err := tmpl.Execute(&b, values()); err != nil {
			return err
		}
		system, prompt, response = "", "", ""
		return nil
	}
	for _, m := range msgs {
		switch m.role {
		case "system":
			if prompt != "" || response != "" {
				if err := flush(); err != nil {
					return "", err
				}
			}
			system = m.content
		case "user":
			if response != "" {
				if err := flush(); err != nil {
					return "", err
				}
			}
			prompt = m.content
		case "assistant":
			response = m.content
		}
	}
	cut := &cutter{}
	root, err := cut.list(tmpl.Tree.Root.CopyList())
	if err != nil {
		return "", err
	}
	last, err := template.New("").AddParseTree("", &parse.Tree{Root: root})
	if err != nil {
		return "", err
	}
	if err := last.Execute(&b, values()); err != nil {
		return "", err
	}
	return b.String(), nil
}

func runCase(c inCase) (res result) {
	defer func() {
		if r := recover(); r != nil {
			res = result{Error: fmt.Sprintf("panic: %v", r)}
		}
	}()
	var out string
	var err error
	if c.Raw {
		out, err = runRaw(c)
	} else {
		out, err = runOllama(c)
	}
	if err != nil {
		return result{Output: out, Error: err.Error()}
	}
	return result{Output: out}
}

func main() {
	in, err := io.ReadAll(os.Stdin)
	if err != nil {
		panic(err)
	}
	var cases []inCase
	if err := json.Unmarshal(in, &cases); err != nil {
		fmt.Fprintln(os.Stderr, "bad input:", err)
		os.Exit(2)
	}
	results := make([]result, len(cases))
	for i, c := range cases {
		results[i] = runCase(c)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(results); err != nil {
		panic(err)
	}
	_ = sort.Strings
}
