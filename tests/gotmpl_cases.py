"""Shared test data for the gotmpl tests: conversations, library templates, adversarial templates."""

from __future__ import annotations

from pathlib import Path

DATA_DIR = Path(__file__).parent / "data" / "gotmpl"


def library_templates() -> dict[str, str]:
    """Real Ollama templates kept as test data; the first line of each file names its source."""
    out = {}
    for p in sorted(DATA_DIR.glob("*.gotmpl")):
        text = p.read_text(encoding="utf-8")
        header, _, body = text.partition("\n")
        assert header.startswith("{{/* source:"), p
        out[p.stem] = body
    return out


WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Get the weather <now> & later",
        "parameters": {
            "type": "object",
            "required": ["city"],
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["c", "f"], "description": "Unit"},
                "days": {"type": ["integer", "null"], "description": "How many days"},
            },
        },
    },
}
ADD_TOOL = {
    "type": "function",
    "function": {
        "name": "add",
        "description": "Add numbers",
        "parameters": {"type": "object", "properties": {
            "a": {"type": "number"}, "b": {"type": "number"},
            "xs": {"type": "array", "items": {"type": "integer"}}}},
    },
}

CONVERSATIONS: dict[str, dict] = {
    "user": {"messages": [{"role": "user", "content": "Hello"}]},
    "system-user": {"messages": [{"role": "system", "content": "You are terse."},
                                 {"role": "user", "content": "Hi"}]},
    "user-assistant-user": {"messages": [
        {"role": "user", "content": "Hello"}, {"role": "assistant", "content": "Hi there"},
        {"role": "user", "content": "How are you?"}]},
    "system-user-assistant-user": {"messages": [
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "2+2?"},
        {"role": "assistant", "content": "4"}, {"role": "user", "content": "And 3+3?"}]},
    "four-turns": {"messages": [
        {"role": "system", "content": "S"}, {"role": "user", "content": "u1"},
        {"role": "assistant", "content": "a1"}, {"role": "user", "content": "u2"},
        {"role": "assistant", "content": "a2"}, {"role": "user", "content": "u3"},
        {"role": "assistant", "content": "a3"}, {"role": "user", "content": "u4"}]},
    "consecutive-same-role": {"messages": [
        {"role": "user", "content": "part one"}, {"role": "user", "content": "part two"},
        {"role": "assistant", "content": "r1"}, {"role": "assistant", "content": "r2"},
        {"role": "user", "content": "next"}]},
    "two-systems": {"messages": [
        {"role": "system", "content": "first rule"}, {"role": "user", "content": "q1"},
        {"role": "assistant", "content": "a1"}, {"role": "system", "content": "second rule"},
        {"role": "user", "content": "q2"}]},
    "unicode-braces": {"messages": [
        {"role": "system", "content": "Réponds en français 🎉"},
        {"role": "user", "content": "  {{ .System }} \"quotes\" 'single' <b>&amp; 世界\t\n"}]},
    "empty-content": {"messages": [
        {"role": "user", "content": ""}, {"role": "assistant", "content": ""},
        {"role": "user", "content": "x"}]},
    "assistant-last": {"messages": [
        {"role": "user", "content": "Write a haiku"}, {"role": "assistant", "content": "Leaves"}]},
    "only-system": {"messages": [{"role": "system", "content": "Only a system prompt"}]},
    "no-messages": {"messages": []},
    "tools": {
        "messages": [
            {"role": "system", "content": "Use tools."},
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": "", "thinking": "need weather",
             "tool_calls": [{"function": {"name": "get_weather", "arguments": {
                 "city": "Paris <FR> & co", "days": 3, "ratio": 0.5, "big": 1e21,
                 "nested": {"z": [1, 2.25, None, True], "a": "b"}}}},
                 {"id": "call_2", "function": {"index": 1, "name": "add",
                                               "arguments": {"a": 1, "b": 2}}}]},
            {"role": "tool", "content": "18C sunny", "tool_name": "get_weather"},
            {"role": "tool", "content": "3", "tool_name": "add"},
            {"role": "user", "content": "Thanks"},
        ],
        "tools": [WEATHER_TOOL, ADD_TOOL],
    },
    "tools-empty-list": {"messages": [{"role": "user", "content": "Hi"}], "tools": []},
    # Ollama lowercases roles when it decodes a request (api.Message.UnmarshalJSON): "User" and
    # "user" are one role, and consecutive ones merge
    "mixed-case-roles": {"messages": [
        {"role": "SYSTEM", "content": "Sys"}, {"role": "User", "content": "one"},
        {"role": "user", "content": "two"}, {"role": "Assistant", "content": "a"},
        {"role": "TOOL", "content": "t1", "tool_name": "add"}, {"role": "Tool", "content": "t2"},
        {"role": "uSeR", "content": "three"}]},
    # a tool round trip ending on the tool result: the template must open the assistant turn
    "tool-result-last": {
        "messages": [
            {"role": "user", "content": "Add 1 and 2"},
            {"role": "assistant", "content": "", "tool_calls": [
                {"function": {"name": "add", "arguments": {"a": 1, "b": 2}}}]},
            {"role": "tool", "content": "3", "tool_name": "add"}],
        "tools": [WEATHER_TOOL, ADD_TOOL]},
    # thinking: history carries .Thinking, and the request sets think (.Think, .IsThinkSet)
    "thinking-on": {
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "thinking": "two and two"},
            {"role": "user", "content": "3+3?"}],
        "think": True, "is_think_set": True},
    "thinking-off": {
        "messages": [{"role": "user", "content": "hi"},
                     {"role": "assistant", "content": "", "thinking": "partial"}],
        "think": False, "is_think_set": True},
}

# Templates written to poke at the language and at Ollama's rules, executed via render().
ADVERSARIAL_OLLAMA = {
    "messages-vars-scoping": (
        "{{- $x := \"outer\" }}{{ range $i, $m := .Messages }}{{ $x := $m.Role }}[{{ $i }}:{{ $x }}]"
        "{{ if eq $i 0 }}{{ $x = \"changed\" }}{{ $x }}{{ end }}{{ $x }}{{ end }}|{{ $x }}"),
    "messages-assign-outer": (
        "{{- $n := 0 }}{{ range .Messages }}{{ $n = len .Content }}{{ end }}{{ $n }}"),
    "nested-range-break-continue": (
        "{{ range $i, $m := .Messages }}{{ if eq $m.Role \"system\" }}{{ continue }}{{ end }}"
        "{{ range $j, $n := $.Messages }}{{ if gt $j $i }}{{ break }}{{ end }}{{ $j }}{{ end }}"
        "-{{ $m.Role }};{{ if eq $m.Role \"assistant\" }}{{ break }}{{ end }}{{ end }}"),
    "trim-every-edge": (
        "  {{- range .Messages -}}  \n  <{{- .Role -}}>  {{- if .Content -}} \t {{ .Content -}}\n"
        " {{- else -}} EMPTY {{- end -}}  \n{{- end -}}  \n{{- /* comment */ -}}  tail  "),
    "comment-trims": "A  {{- /* left */}}  B {{/* right */ -}}  C\n{{/* plain */}}D",
    "system-and-tools": (
        "{{ if .System }}SYS={{ .System }}{{ end }}|{{ if .Tools }}{{ len .Tools }} tools: "
        "{{ range .Tools }}{{ .Function.Name }}({{ range $k, $v := .Function.Parameters.Properties }}"
        "{{ $k }}:{{ $v.Type }}/{{ toTypeScriptType $v }},{{ end }}) req={{ .Function.Parameters.Required }};"
        "{{ end }}{{ end }}|{{ .Tools }}"),
    "tool-calls-json": (
        "{{ range .Messages }}{{ .Role }}{{ range .ToolCalls }} {{ .Function.Name }}#{{ .Function.Index }}"
        " {{ .Function.Arguments }} {{ json .Function.Arguments }} id={{ .ID }}"
        "{{ range $k, $v := .Function.Arguments }} {{ $k }}={{ $v }}{{ end }}{{ end }}"
        "{{ if .ToolName }} tool={{ .ToolName }}{{ end }}{{ if .Thinking }} think={{ .Thinking }}{{ end }}\n"
        "{{ end }}"),
    "json-of-everything": "{{ json .Tools }}\n{{ json .Messages }}\n{{ json .System }}",
    "printf-message-fields": (
        "{{ range .Messages }}{{ printf \"%-10s|%5.3s|%q|%x\" .Role .Content .Content .Role }}\n{{ end }}"),
    "slice-len-index": (
        "{{ $n := len .Messages }}{{ if $n }}{{ (index .Messages (len (slice .Messages 1))).Role }}"
        "{{ end }}{{ range $i, $_ := .Messages }}{{ slice .Content 0 (len (slice .Content 0)) }}"
        "{{ if lt (len .Content) 3 }}short{{ else }}{{ slice .Content 1 3 }}{{ end }}{{ end }}"),
    "missing-keys": (
        "[{{ .Nope }}][{{ if .Nope }}yes{{ else }}no{{ end }}][{{ with .Nope }}w{{ else }}nw{{ end }}]"
        "[{{ print .Nope }}][{{ .Messages | len }}][{{ .Think }}][{{ .IsThinkSet }}][{{ .ThinkLevel }}]"),
    "missing-key-chain-errors": "{{ .Nope.Deeper }}{{ .Messages }}",
    "message-unknown-field-errors": "{{ range .Messages }}{{ .Nope }}{{ end }}",
    "define-template-block": (
        "{{ define \"turn\" }}<{{ .Role }}>{{ .Content }}</{{ .Role }}>{{ end }}"
        "{{ range .Messages }}{{ template \"turn\" . }}{{ end }}"
        "{{ block \"tail\" .System }}[{{ . }}]{{ end }}"),
    "template-without-pipe": "{{ define \"x\" }}X{{ end }}{{ template \"x\" }}{{ .Messages }}",
    "and-or-operands": (
        "{{ range .Messages }}{{ or .Thinking .Content \"none\" }}|{{ and .Content .Role }}|"
        "{{ and .Thinking \"never\" }}|{{ not .Content }};{{ end }}"),
    "eq-multi": (
        "{{ range .Messages }}{{ if eq .Role \"tool\" \"system\" }}T{{ else if eq .Role \"user\" }}U"
        "{{ else }}A{{ end }}{{ end }}"),
    "with-else": "{{ with .System }}({{ . }}){{ else }}no system{{ end }}{{ with $.Messages }}{{ len . }}{{ end }}",
    "legacy-if-response": "{{ if .System }}<s>{{ .System }}</s>{{ end }}[U]{{ .Prompt }}[A]{{ if .Response }}{{ .Response }}[E]{{ end }}",
    "legacy-response-in-pipe": "{{ .System }}|{{ .Prompt }}|{{ print .Response \"X\" }}|after",
    "legacy-response-piped": "{{ .Prompt }}:{{ .Response | printf \"%s!\" }}/tail",
    "legacy-no-response": "<<{{ .System }}|{{ .Prompt }}>>",
    "legacy-think-flags": "{{ .System }}|{{ .Prompt }}|{{ .Think }}{{ .IsThinkSet }}|{{ .Response }}|end",
    "think-flags": ("{{ if .IsThinkSet }}set:{{ .Think }}:{{ .ThinkLevel }}{{ end }}"
                    "{{ range .Messages }}[{{ .Role }}|{{ .Thinking }}|{{ .Content }}]{{ end }}"
                    "{{ if .Think }}<think>{{ end }}"),
    "print-tools-each": "{{ range .Tools }}{{ . }}|{{ print .Function }}|{{ .Function.Parameters.Properties }}\n{{ end }}",
    "legacy-else-after-response": "{{ .Prompt }}{{ if .Prompt }}{{ .Response }}{{ else }}none{{ end }}",
    "legacy-define-used-last": "{{ define \"p\" }}P:{{ . }}{{ end }}{{ template \"p\" .Prompt }}{{ .Response }}",
    "legacy-json-func": "{{ json .Prompt }}{{ .Response }}",
    "legacy-missing-key-legacy": "{{ .Nope.Deeper }}{{ .Prompt }}={{ .Response }}",
    "messages-with-dollar": "{{ range $.Messages }}{{ .Role }} {{ end }}",
    "messages-only-in-define": "{{ define \"m\" }}{{ range .Messages }}{{ .Content }}{{ end }}{{ end }}{{ template \"m\" . }}",
    "print-go-values": (
        "{{ range .Messages }}{{ printf \"%+v|%v\" . . }}\n{{ range .ToolCalls }}"
        "{{ printf \"%+v|%v|%s\" . .Function .Function.Arguments }}{{ end }}{{ end }}"
        "{{ if .Tools }}{{ printf \"%v|%+v\" .Tools (index .Tools 0).Function.Parameters }}{{ end }}"),
    "print-messages-and-tools": "{{ range .Messages }}{{ . }}{{ end }}{{ range .Tools }}{{ . }}{{ end }}",
    "raw-strings-chars": "{{ `raw\\n{{` }}{{ 'a' }}{{ \"\\u00e9\\t\\x41\" }}{{ 0x1F }}{{ 1_000 }}{{ 1e3 }}{{ -0.5 }}{{ .Messages | len | printf \"%03d\" }}",
}

# Raw templates executed over DATA (Go's template.Execute), for language details.
DATA = {
    "s": "héllo wörld", "e": "", "n": 3, "neg": -7, "f": 1.5, "big": 1e21, "small": 1e-7,
    "million": 1000000.0, "third": 0.1, "intf": 3.0, "z": 0, "b": True, "no": False,
    "list": [1, "a", 2.5, None, True], "strs": ["x", "y", "z"], "empty": [],
    "map": {"b": 1, "a": "x", "c": [1, 2], "d": {"k": "v"}},
    "nested": {"m": {"k": "v", "n": None}},
    "nil": None,
}

ADVERSARIAL_RAW = [
    # index of a string is a byte: Go's uint8, not int (type name, %#v, comparisons with ints)
    "{{ $b := index .s 0 }}{{ printf \"%T|%v|%#v|%d|%x|%c|%q|%U|%5d|%s\" $b $b $b $b $b $b $b $b $b $b }}",
    "{{ $b := index .s 1 }}{{ eq $b 101 }}{{ lt $b 200 }}{{ ne $b 0 }}{{ if $b }}T{{ end }}"
    "{{ print $b }}{{ println $b }}{{ json $b }}{{ index .list (index \"\\x01\" 0) }}",
    "{{ printf \"%#v %T\" (slice .s 0 1) (index .strs 0) }}{{ len (index .s 0) }}",
    # invalid code points: Go writes U+FFFD (a surrogate raised UnicodeEncodeError here)
    "{{ printf \"%c|%c|%c|%c|%c|%c|%-3c|%03c\" 55296 56319 56320 57343 1114112 -1 55296 57343 }}",
    "{{ printf \"%q|%+q|%#q|%U|%#U|%x\" 55296 55296 57343 55296 55296 55296 }}",
    "{{ printf \"%c%c|%q\" -55296 1099511627776 -1 }}",
    "{{ .s }}|{{ .n }}|{{ .f }}|{{ .big }}|{{ .small }}|{{ .million }}|{{ .third }}|{{ .intf }}|{{ .b }}",
    "{{ .list }}|{{ .strs }}|{{ .empty }}|{{ .map }}|{{ .nested }}|{{ .nil }}|{{ .missing }}",
    "{{ printf \"%d|%5d|%-5d|%05d|%+d|%x|%X|%o|%b|%c|%q|%U\" .n .n .n .n .n 255 255 8 5 65 66 9731 }}",
    "{{ printf \"%f|%.2f|%8.3f|%-8.1f|%e|%g|%.3g|%v|%G|%E\" .f .f .f .f .f .f .f .f .big .small }}",
    "{{ printf \"%s|%10s|%-10s|%.2s|%q|%x|%X|% x|%v|%T|%t\" .s .s .s .s .s \"hi\" \"hi\" \"hi\" .s .s .b }}",
    "{{ printf \"%d %s\" .s .n }}|{{ printf \"%d\" }}|{{ printf \"%d\" 1 2 }}|{{ printf \"%!\" }}|{{ printf \"100%%\" }}",
    "{{ printf \"%v %d %s\" .list .strs .strs }}|{{ printf \"%v\" .map }}|{{ printf \"%v|%s\" .nil .nil }}",
    "{{ printf \"%t|%v|%d\" .b .no .f }}|{{ printf \"%5t|%-6v|\" .b .no }}",
    "{{ printf \"%*d|%-*d|%.*f\" 5 1 4 2 2 3.14159 }}",
    "{{ printf \"%99999999d|\" 1 }}|{{ printf \"%.99999999f|\" 1.5 }}|{{ printf \"%1000000d|\" 1 | len }}",
    "{{ printf \"%*d|%*d|%.*d|%.*d\" 1000001 1 -1000001 2 1000001 3 -1 4 }}|{{ printf \"%*d\" 1000000 5 | len }}",
    "{{ print 1 2 \"a\" \"b\" 3 .nil .f }}|{{ println 1 \"a\" .list }}|{{ print }}",
    "{{ len .s }} {{ len .list }} {{ len .map }} {{ len .empty }} {{ index .s 1 }} {{ index .list 1 }} {{ index .map \"a\" }} {{ index .map \"zz\" }} {{ index .nested \"m\" \"k\" }}",
    "{{ slice .s 1 3 }}|{{ slice .s 0 1 }}|{{ slice .strs 1 }}|{{ slice .strs 1 2 }}|{{ slice .strs }}|{{ slice \"abc\" 3 }}",
    "{{ slice .s 2 }}",
    "{{ slice .strs 2 1 }}",
    "{{ slice .s 0 99 }}",
    "{{ index .list 10 }}",
    "{{ index .list -1 }}",
    "{{ index .map 1 }}",
    "{{ index .nil 1 }}",
    "{{ len .n }}",
    "{{ len .nil }}",
    "{{ eq 1 1 }} {{ eq 1 2 1 }} {{ eq \"a\" \"b\" \"a\" }} {{ ne 1 2 }} {{ eq .n 3 }} {{ eq .f 1.5 }} {{ eq .b true }} {{ eq .nil .missing }}",
    "{{ eq .n 3.0 }}",
    "{{ eq 1 \"1\" }}",
    "{{ eq .list .list }}",
    "{{ eq .missing \"x\" }}",
    "{{ lt 1 2 }} {{ le 2 2 }} {{ gt \"b\" \"a\" }} {{ ge 1.5 2.5 }} {{ lt \"é\" \"z\" }} {{ lt .neg .z }}",
    "{{ lt 1 1.5 }}",
    "{{ lt true false }}",
    "{{ lt .nil 1 }}",
    "{{ and 1 0 2 }}|{{ and 1 2 }}|{{ or 0 \"\" .nil }}|{{ or 0 \"x\" (index .nil 1) }}|{{ and .e (index .nil 1) }}|{{ not .e }}|{{ not 1 }}|{{ or .empty .strs }}",
    "{{ and }}",
    "{{ not 1 2 }}",
    "{{ html \"<a href='x'>&\\\"\" }}|{{ js \"a'b\\\"c<d>&=\\n\\u00e9\" }}|{{ urlquery \"a b&c=d/é\" }}|{{ html 1 2 }}|{{ urlquery .list }}",
    "{{ if .e }}E{{ else if .z }}Z{{ else if .list }}L{{ else }}none{{ end }}",
    "{{ if .empty }}y{{ else }}n{{ end }}{{ if .map }}m{{ end }}{{ if .nil }}x{{ end }}{{ if .f }}f{{ end }}{{ if .nested.m }}nm{{ end }}",
    "{{ range $k, $v := .map }}{{ $k }}={{ $v }};{{ end }}|{{ range .empty }}x{{ else }}empty{{ end }}|{{ range .nil }}x{{ else }}nil{{ end }}",
    "{{ range $i, $e := .list }}{{ if eq $i 1 }}{{ continue }}{{ end }}{{ if eq $i 3 }}{{ break }}{{ end }}{{ $i }}:{{ $e }} {{ end }}",
    "{{ range .strs }}{{ range $.strs }}{{ if eq . \"y\" }}{{ break }}{{ end }}{{ . }}{{ end }}/{{ . }} {{ end }}",
    "{{ range .n }}{{ . }}{{ end }}",
    "{{ range .s }}{{ . }}{{ end }}",
    "{{ $x := 1 }}{{ if true }}{{ $x := 2 }}{{ $x }}{{ end }}{{ $x }}{{ with .s }}{{ $x = 3 }}{{ end }}{{ $x }}{{ range .strs }}{{ $x := . }}{{ end }}{{ $x }}",
    "{{ $x := 1 }}{{ $y := $x }}{{ $x = 5 }}{{ $y }}{{ $x }}{{ $ }}",
    "{{ if $x := .n }}{{ $x }}{{ else }}{{ $x }}{{ end }}",
    "{{ $x }}",
    "{{ $x = 1 }}",
    "{{ with $v := .nested.m }}{{ $v.k }}{{ .k }}{{ end }}{{ with .nested.m.k }}{{ . }}{{ end }}",
    "{{ .nested.m.k }}|{{ .nested.m.n }}|{{ .nested.q }}|{{ $.nested.m.k }}|{{ (.nested).m.k }}",
    "{{ .missing.deeper }}",
    "{{ .nil.deeper }}",
    "{{ .s.x }}",
    "{{ define \"a\" }}A{{ . }}{{ template \"b\" . }}{{ end }}{{ define \"b\" }}B{{ end }}{{ template \"a\" .n }}|{{ block \"c\" .s }}C{{ . }}{{ end }}|{{ template \"c\" 1 }}",
    "{{ template \"nope\" }}",
    "{{ define \"r\" }}{{ if . }}{{ . }}{{ template \"r\" (slice . 1) }}{{ end }}{{ end }}{{ template \"r\" \"abcd\" }}",
    # byte slices inside UTF-8 sequences, joined again, measured and compared (Go strings are bytes)
    "{{ $x := print (slice \"é\" 0 1) (slice \"é\" 1 2) }}{{ len $x }} {{ $x }} {{ index $x 1 }}"
    "{{ $y := print $x \"a\" }} {{ len $y }} {{ index $y (len (slice $y 1)) }} {{ eq $x \"é\" }}"
    " {{ printf \"%q\" (slice \"é\" 0 1) }} {{ len (slice \"日本\" 1 4) }} {{ lt (slice \"é\" 1) \"z\" }}"
    " {{ printf \"%s|%x\" (slice \"🙂\" 0 3) (slice \"🙂\" 3) }}",
    "a {{- 1 -}} b {{- \"x\" }}  c  {{ 2 -}}  \n d {{ 3 }}",
    "{{-3}}|{{- 3}}|{{3 -}}|{{ -3 }}",
    "x {{- /* c */ -}} y {{/* c */}} z",
    "{{/* unterminated }}",
    "{{ /* bad comment */ }}",
    "{{ 1 | printf \"%d\" }} {{ \"a\" | printf \"%s%s\" \"b\" }} {{ .strs | len }} {{ .n | eq 3 }}",
    "{{ 1 | 2 }}",
    "{{ .s | .n }}",
    "{{ (1) }}{{ (print \"a\" (print \"b\")) }}{{ (.nested.m).k }}",
    "{{ nil }}",
    "{{ print nil }}",
    "{{ index .list 3 | print }}{{ printf \"%v\" (index .list 3) }}",
    "{{ 'ab' }}",
    "{{ \"unterminated }}",
    "{{ if }}{{ end }}",
    "{{ if 1 }}",
    "{{ end }}",
    "{{ else }}",
    "{{ range .strs }}{{ else if 1 }}{{ end }}",
    "{{ break }}",
    "{{ range .strs }}{{ break 1 }}{{ end }}",
    "{{ nofunc 1 }}",
    "{{ .a.b.c.d }}",
    "{{ 1.5.x }}",
    "{{ 08 }}",
    "{{ 0x }}",
    "{{ 1e400 }}",
    "{{ 99999999999999999999 }}",
    "{{ $x := 1 }}{{ $x.y }}",
    "{{ call .n }}",
    "{{ json .map }}|{{ json .list }}|{{ json .s }}|{{ json .f }}|{{ json .big }}|{{ json .small }}|{{ json .nil }}|{{ json 1 }}",
    "{{ toTypeScriptType .s }}|{{ currentDate | len }}|{{ yesterdayDate \"x\" | len }}",
    "{{ currentDate 1 }}",
    "{{ printf }}",
    "{{ printf 1 }}",
    "{{ printf .n }}",
    "{{ printf .nil }}",
    "{{ printf \"%s\" }}{{ printf \"%[1]s\" \"x\" }}",
    "{{ .list.x }}",
    "{{ with .e }}no{{ else with .n }}n={{ . }}{{ end }}",
    "{{ if .e }}{{ else }}{{ end }}{{ with 0 }}{{ end }}",
    # the lexer's runs (spaces, words mixing ASCII and other letters or digits, quoted literals)
    "{{ $été2 := \"a\\\"b\" }}{{ $été2 }}|{{ $x١ := 'c' }}{{ $x١ }}|{{   \t\r\n 1 \n\t -}}  x|{{ .ÿ_z9 }}",
    "{{ $x½ := 1 }}",
    "{{ $xé := 1 }}{{ $xé.é½ }}",
    "{{ \"a\\\nb\" }}",
    "{{ 'a\\'' }}|{{ '\\'' }}",
    "{{ \"tab\there\\u00e9\" }}{{ \"\" }}{{ printf \"%q\" \"\\\\\" }}",
]
