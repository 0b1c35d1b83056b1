"""One case: one prompt on one prepared quant. The engine renders and answers (and, on llamacpp,
answers again through the GGUF's Jinja template, as `llama-cli --jinja` would); every check of
`publish.smoke.checks` then runs on what came back."""

from __future__ import annotations

import dataclasses
import time

from publish.errors import TemplateError, message_of
from publish.modelfile import stop_list
from publish.modelkind import BASE, BASE_REASON
from publish.smoke import checks as C
from publish.smoke.base import Backend, ChatResult, LoadError, ShowResult, Target, Unsupported
from publish.smoke.checks import Status
from publish.smoke.gguf_facts import GGUFFacts
from publish.smoke.jinja_parity import jinja_parity
from publish.smoke.prompts import Prompt, render_go
from publish.smoke.results import CaseResult


def smoke_prompt(backend: Backend, target: Target, prompt: Prompt, conversation: list[dict], chat_options: dict,
                 timeout: float, facts: GGUFFacts, jinja_slot: tuple,
                 show: ShowResult | None, show_error: str | None) -> CaseResult:
    """Run one prompt on a prepared quant and every check on what came back.

    `conversation` is the prompt as Ollama sees it (the release's system folded in),
    `chat_options` the request options (the release's params over the smoke's seed and
    num_predict), `timeout` seconds per engine call, `jinja_slot` (the GGUF's Jinja renders, this
    prompt's index, why they are missing), `show` what the engine holds for the model (or why
    not: `show_error`). Engine failures become failed or skipped checks; nothing is raised for them."""
    start = time.perf_counter()
    case = CaseResult(target.label, prompt.name)
    engine_seconds = 0.0
    stops = stop_list(target.params.get("stop"), drop_empty=True)
    specials = list(dict.fromkeys([*C.KNOWN_SPECIAL_TOKENS, *facts.control_tokens]))
    messages = [dict(m) for m in prompt.messages]
    done_facts = {"end_texts": [facts.eos_text] if facts.eos_text else [],
                  "gguf_chat_template": None if facts.why_unknown else bool(facts.chat_template)}

    rendered, render_why = None, f"{getattr(backend, 'name', 'the engine')} cannot report the rendered prompt"
    # A base release gets a one-message prompt as a completion too (`--prompt TEXT` on a base folder).
    as_completion = prompt.completion or (target.kind == BASE and len(messages) == 1 and messages[0]["role"] == "user")
    generate = getattr(backend, "generate", None) if as_completion else None
    try:
        if generate is not None:
            render_completion = getattr(backend, "render_completion", None)
            rendered = render_completion(target, messages[0]["content"]) if render_completion is not None else None
        else:
            rendered = backend.render(target, messages)
    except Unsupported as err:
        render_why = str(err)
    except LoadError as err:
        render_why = f"render failed: {err}"
    except TemplateError as err:  # llamacpp renders with publish.gotmpl: render-go reports it below
        render_why = f"render failed: {message_of(err)}"

    try:
        if generate is not None:
            result: ChatResult | None = generate(target, messages[0]["content"], chat_options, timeout)
        else:
            result = backend.chat(target, messages, chat_options, timeout)
    except Unsupported as err:
        result = None
        case.checks.append(C.skipped("chat", str(err)))
    except LoadError as err:
        result = None
        case.checks.append(C.failed("chat", str(err)))
    base = target.kind == BASE
    if result is not None:
        case.load_seconds = result.load_seconds
        engine_seconds += result.prompt_seconds + result.eval_seconds
        case.answer, case.done_reason = result.text, result.done_reason
        case.prompt_tokens, case.eval_tokens = result.prompt_tokens, result.eval_tokens
        case.prompt_tps = _rate(result.prompt_tokens, result.prompt_seconds)
        case.eval_tps = _rate(result.eval_tokens, result.eval_seconds)
        case.checks += [
            C.check_answer(prompt, result),
            C.skipped("done", f"{BASE_REASON} (a completion ends at num_predict or the model's EOS; "
                              "there is no end of turn to check)") if base else
            C.check_done_reason(result, specials, stops, target.template, **done_facts),
            C.check_no_leak(result, specials, stops),
            C.check_no_visible_thinking(result),
        ]

    why_show = show_error or f"{getattr(backend, 'name', 'the engine')} keeps no model to show: params go with each request"
    case.checks.append(C.check_params_applied(show, target.params, target.template, target.system, why_show))

    expected_go = None
    if target.template is not None:
        try:
            expected_go = render_go(target.template, conversation)
        except TemplateError as err:
            case.checks.append(C.failed("render-go", f"publish.gotmpl cannot render the template: {message_of(err)}"))
    if expected_go is not None or target.template is None:
        case.checks.append(C.check_rendered_go(rendered, expected_go, render_why))
    jinja, index, jinja_why = jinja_slot
    if base:
        case.checks += [C.skipped(name, BASE_REASON) for name in ("render-jinja", "system", "turns")]
    else:
        # Without the engine's own prompt (ollama --via cli), the template Ollama holds (`ollama show
        # --template`, byte for byte) rendered with publish.gotmpl is the next best evidence for the
        # comparison with the GGUF's chat template; the check says so.
        jinja_evidence, derived = rendered, False
        if jinja_evidence is None and show is not None and show.template:
            try:
                jinja_evidence, derived = render_go(show.template, conversation), True
            except TemplateError:
                jinja_evidence = None
        if jinja_evidence is None or jinja is None:
            case.checks.append(C.skipped("render-jinja", render_why if jinja_evidence is None else jinja_why))
        else:
            check = C.check_jinja_parity(jinja_parity(jinja, index, jinja_evidence, show.template if derived
                                                       else target.template), render_why)
            if derived and check.status is not Status.PASS:
                check = dataclasses.replace(check, message=check.message + " (the prompt is the template of "
                                            "`ollama show --template` rendered with publish.gotmpl)")
            case.checks.append(check)
        case.checks.append(C.check_system_reached(prompt.system or target.system, rendered, render_why))
        case.checks.append(C.check_turns_reached(prompt, rendered, render_why))
    # Without a rendered prompt (ollama --via cli), a template that starts with the BOS text
    # literally is proof enough: every prompt rendered from it starts with that text.
    bos_evidence = rendered
    if bos_evidence is None and show is not None and show.template and facts.bos_text \
            and show.template.startswith(facts.bos_text):
        bos_evidence = show.template
    case.checks.append(C.check_no_bos_text(bos_evidence, facts.add_bos, facts.bos_text,
                                           render_why if facts.why_unknown is None else facts.why_unknown))
    if result is not None:
        case.checks.append(C.check_double_bos(result, facts.bos_text))

    chat_jinja = getattr(backend, "chat_jinja", None)
    if chat_jinja is not None and result is not None and base:
        case.checks.append(C.skipped("jinja-chat", BASE_REASON))
    elif chat_jinja is not None and result is not None:
        jinja_text = jinja.renders[index].text if jinja is not None else None
        try:
            if jinja is not None and jinja_text is None:  # the template refused or failed this conversation
                raise Unsupported(f"the GGUF's Jinja template cannot render it: {jinja.renders[index].error}")
            jr = chat_jinja(target, messages, chat_options, timeout, rendered=jinja_text)
        except Unsupported as err:
            case.checks.append(C.skipped("jinja-chat", str(err)))
            jr = None
        except LoadError as err:
            case.checks.append(C.failed("jinja-chat", str(err)))
            jr = None
        except Exception as err:  # the GGUF's template refused or broke: llama-cli users see that too
            case.checks.append(C.failed("jinja-chat", f"llama-cli --jinja path: {message_of(err)}"))
            jr = None
        if jr is not None:
            _, jres = jr
            engine_seconds += jres.prompt_seconds + jres.eval_seconds
            case.jinja_answer, case.jinja_reused = jres.text, jres.reused
            case.checks += [
                C.check_answer(prompt, jres, name="jinja-answer"),
                C.check_done_reason(jres, specials, stops, target.template, name="jinja-done", **done_facts),
                C.check_no_leak(jres, specials, stops, name="jinja-leak"),
                C.check_double_bos(jres, facts.bos_text, name="jinja-double-bos"),
            ]
    case.seconds = time.perf_counter() - start
    case.engine_seconds = engine_seconds
    return case


def _rate(tokens: int, seconds: float) -> float | None:
    return tokens / seconds if tokens and seconds > 0 else None
