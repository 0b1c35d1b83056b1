"""Names vulture (`make deadcode`) reports as unused that are used: hooks a framework calls,
signatures a protocol fixes, and public API that tests, docs or users call from outside publish/.
A name is added here only with its reason; real dead code is removed instead."""
# ruff: noqa
# fmt: off

# jinja2.sandbox.ImmutableSandboxedEnvironment / CodeGenerator hooks (publish/chat.py)
_._output_child_to_const
finalize
code_generator_class
intercepted_binops
_.unsafe_undefined
# click.Group hooks (publish/cli/__init__.py)
_.get_command
_.format_commands
# llama.cpp token types (llama_token_type), listed whole for the reader of publish/gguf/vocab.py
BYTE; NORMAL; UNKNOWN; UNUSED
# io.RawIOBase protocol (publish/hub/remote.py)
_.readable
_.seekable
# counters read by tests/hub/test_remote.py and bench/ (publish/hub/remote.py)
_.requests
_.bytes_fetched
# callback and __exit__ signatures fixed by the caller (llama-cpp-python, the context manager protocol)
user_data
param                  # click option callback signature (publish/cli/options.py)
exc
_.last_n_tokens_size   # set on the Llama object: llama-cpp-python reads it
# public API: result fields and functions used by tests, docs/gen_pages.py or users
_.unfixable            # publish.gguf.fix.FixPlan
_.unchanged            # publish.hub.plan.PushPlan (with .new, .changed)
batched                # publish.hub.push.PushResult
_.batched
_.adapter              # publish.modelfile.Modelfile: Ollama's ADAPTER and REQUIRES commands
_.requires
parse_file             # publish.modelfile
is_quiet               # publish.progress
render_index           # publish.rulebook (docs/gen_pages.py)
_.remote_sha256        # publish.hub.plan.PlanEntry: the remote LFS sha256, set by plan_push for callers
STAGES                 # publish.release: the stage names ReleaseResult.stage() takes, in run order (docs/api)
_.folder_findings      # publish.release.ReleaseResult: the folder lint's Findings (tests/test_release_staged.py)
stop_problem           # publish.folder_rules: one stop string against a vocabulary (tests/test_folder_rules.py)
_.uses_conversion      # publish.convert.suggest.TemplateSuggestion (tests/convert/test_suggest.py)
unreachable_reason     # publish.hub.transport: why a host cannot be reached (tests/hub/test_hub_errors.py)
_.defined              # publish.gotmpl.Template: the names of a parsed set's templates (docs/api, Go's DefinedTemplates)
# Python protocols: a module's lazy attributes (PEP 562, publish/gguf/reader.py) and an
# unhashable mutable record (publish/records.py sets __hash__ = None, as @dataclass does)
__getattr__
_.__hash__
