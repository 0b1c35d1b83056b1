"""Release spec -> staged repo folder (the layout is documented in publish/staged.py).

The folder holds exactly what the Hub repo will hold. GGUFs are hard-linked (or reflinked, or
copied) from the GGUF folder, never symlinked; text files are rendered deterministically and
written atomically, and only when their bytes change. Which files a build generated is kept next
to the folder (`.<folder>.publish-build.json`) so a rebuild removes what it generated before
and never touches files it does not know.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path

from publish.errors import GGUFError, NoChatTemplateError, SpecError, UsageError
from publish.termtext import shell_command
from publish.fsutil import atomic_write_text, clone_or_copy, make_dirs, output_error, removed_if_interrupted, temp_path
from publish.quants import (file_type_disagrees, is_projector_filename, label_from_filename, normalize_label,
                            quality_class, shard_info)
from publish.spec import Quant, ReleaseSpec
from publish.staged import StagedFolder, manifest_path, params_json, read_manifest
from publish.units import decimal_size



@dataclass(frozen=True)
class StagedFile:
    """One file the build staged: its name in the folder, what was done, its size in bytes."""
    name: str
    action: str        # "hard link", "reflink", "copy", "written", "unchanged"
    size: int


@dataclass
class BuildResult:
    """What `build_folder` did: the folder, each staged file, the stale files of an earlier build
    it removed, the files it does not know (left alone), and the folder as read (`staged`)."""
    folder: Path
    files: list[StagedFile] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)   # stale files of an earlier build
    foreign: list[str] = field(default_factory=list)   # files this build does not know (left alone)
    staged: StagedFolder | None = None                  # the folder as lint, smoke and push read it

    def to_dict(self) -> dict:
        """The build as `publish build --format json` prints it:

            {"folder": path, "repo": "ORG/NAME"|None,     # the repo the folder was built for
             "files": [{"name": str, "action": "hard link"|"reflink"|"copy"|"written"|"unchanged",
                        "size": bytes}, ...],
             "removed": [name, ...],   # files of an earlier build no longer in the spec, removed
             "foreign": [name, ...]}   # files this build does not know, left in place (push sends them too)"""
        return {"folder": str(self.folder), "repo": self.staged.repo if self.staged is not None else None,
                "files": [{"name": f.name, "action": f.action, "size": f.size} for f in self.files],
                "removed": list(self.removed), "foreign": list(self.foreign)}


@dataclass(frozen=True)
class QuantInfo:
    """One quant as the card and the Modelfiles show it: its tag `label`, the source GGUF(s), the
    staged file name(s) (one per split part), total `size` in bytes, bits per weight (None when
    unknown), the `use` text and whether it is the `recommended` one. `header`: the first part's
    publish.gguf.header.GGUFHeader, as the build read it (None when not read)."""
    label: str
    sources: tuple[Path, ...]
    names: tuple[str, ...]      # staged file names, one per part
    size: int
    bits_per_weight: float | None
    use: str
    recommended: bool
    header: object = field(default=None, repr=False, compare=False)


def build(spec: ReleaseSpec, out_dir: Path | None = None, *, gguf_dir: Path | None = None) -> Path:
    """Render `spec` into a staged folder (default dist/<NAME>) and return its path."""
    return build_folder(spec, out_dir, gguf_dir=gguf_dir).folder


def build_folder(spec: ReleaseSpec, out_dir: Path | None = None, *, gguf_dir: Path | None = None) -> BuildResult:
    """Render `spec` into a staged folder (default dist/<NAME>) and read it back once: the result's
    `staged` is the publish.staged.StagedFolder that lint, smoke and push take (read tolerantly:
    lint reports a fault as a finding, smoke refuses it). `files` lists each staged file with its
    action and size in bytes. Raises SpecError (two quants on one file name, a template that cannot
    be converted) and UsageError (the output folder is the spec's or the GGUFs' folder, or a file;
    OutputPathError when it cannot be created)."""
    spec = spec.with_gguf_dir(gguf_dir)
    out = Path(out_dir) if out_dir is not None else Path("dist") / spec.name
    quants = _quant_infos(spec)
    if spec.template.from_gguf:
        spec = with_converted_template(spec, quants)
    check_stops(spec, quants)
    mmproj = spec.resolve_mmproj()
    mmproj_name = None
    if mmproj is not None:
        mmproj_name = mmproj.name if is_projector_filename(mmproj.name) else f"mmproj-{mmproj.name}"
        _read_header(mmproj)

    texts = render_texts(spec, quants, mmproj_name)
    ggufs: dict[str, Path] = {}
    for q in quants:
        ggufs.update(zip(q.names, q.sources))
    if mmproj is not None:
        ggufs[mmproj_name] = mmproj
    clash = set(ggufs) & set(texts)
    if clash or len(ggufs) != sum(len(q.names) for q in quants) + (mmproj is not None):
        raise SpecError(str(spec.path), "quants", "two quants would get the same file name in the folder",
                        hint="give each quant a distinct label")

    if out.exists() and not out.is_dir():
        raise UsageError(f"{out}: exists and is not a folder", hint="pass another -o DIR")
    if out.resolve() in {spec.gguf_dir.resolve(), spec.path.resolve().parent}:
        raise UsageError(f"{out}: is the folder of the spec or of the source GGUFs; the staged folder "
                         "must hold only what the Hub repo will hold", hint="pass another -o DIR, e.g. dist/NAME")
    make_dirs(out)
    manifest = manifest_path(out)
    previous = _generated_before(out)

    result = BuildResult(out)
    for name in sorted(ggufs):
        action = stage_file(ggufs[name], out / name)
        result.files.append(StagedFile(name, action, (out / name).stat().st_size))
    for name in sorted(texts):
        data = texts[name].encode("utf-8")
        dst = out / name
        if dst.is_file() and not dst.is_symlink() and dst.read_bytes() == data:
            action = "unchanged"
        else:
            if dst.is_symlink():
                dst.unlink()
            atomic_write_text(dst, texts[name])
            action = "written"
        result.files.append(StagedFile(name, action, len(data)))

    current = set(ggufs) | set(texts)
    for name in sorted(previous - current):
        p = out / name
        if p.is_file() or p.is_symlink():
            p.unlink()
            result.removed.append(name)
    atomic_write_text(manifest, json.dumps({"folder": out.name, "spec": str(spec.path), "repo": spec.repo,
                                            "files": sorted(current)}, indent=2) + "\n")
    result.staged = StagedFolder.load(out, tolerant=True)   # lint reports its faults; smoke refuses them
    top = {p.relative_to(out).parts[0] for p in result.staged.files}   # what a push would send
    result.foreign = sorted(top - current)
    return result


def with_converted_template(spec: ReleaseSpec, quants: list[QuantInfo]) -> ReleaseSpec:
    """[template] from = "gguf": the spec with the GGUFs' chat template converted to a Go template
    (publish.convert) and its stop list as params.stop (unless the spec sets stop itself).
    Raises SpecError when the GGUFs disagree, hold no chat template, one is not a GGUF, or the
    conversion is not identical on every case the chat template supports."""
    from dataclasses import replace

    from publish.convert import ConvertError, convert
    from publish.convert.inputs import load_chat_template
    from publish.spec import TemplateSpec

    sources = [q.sources[0] for q in quants if q.sources]
    if not sources:
        raise SpecError(str(spec.path), "template.from", "no GGUF to read the chat template from")
    try:
        first = load_chat_template(sources[0], spec.template.gguf_name)
        for other in sources[1:]:
            if load_chat_template(other, spec.template.gguf_name).text != first.text:
                raise SpecError(str(spec.path), "template.from",
                                f"{sources[0].name} and {other.name} hold different chat templates",
                                hint="convert one with `publish template convert GGUF -o DIR` and use "
                                     "[template] file = \"DIR/template\"")
    except NoChatTemplateError as err:
        raise SpecError(str(spec.path), "template.from", _no_template_message(err),
                        hint=_no_template_hint(err)) from None
    except (UsageError, GGUFError) as err:   # GGUFError: a quant that is not a GGUF (an LFS pointer...)
        raise SpecError(str(spec.path), "template.from", err.message, hint=err.hint) from None
    try:
        conv = convert(first.text, bos_token=first.bos, eos_token=first.eos, name=first.name,
                       strip_bos=first.strip_bos, specials=first.specials, tokens=first.tokens)
    except ConvertError as err:
        hint = err.hint if err.hint and "publish fix" in err.hint else "set [template] family/text/file instead"
        raise SpecError(str(spec.path), "template.from", f"the chat template cannot be converted: {err.message}",
                        hint=hint) from None
    if not conv.identical:
        bad = [c.name for c in conv.check.conversations if c in conv.check.compared and c.status != "identical"]
        verdict = conv.verdict
        if verdict == "none":
            why = conv.first_refusal()
            message = (f"the chat template of {sources[0].name} renders none of the conversations"
                       + (f" (first: {why})" if why else ""))
        elif verdict == "approximated" and not bad:
            named = "; ".join(f"{a.where} {a.construct} ({a.instead})" for a in conv.unproven)
            message = (f"the converted chat template of {sources[0].name} is approximated: {named} not proven "
                       "(no probe case exercises it)")
        elif verdict == "approximated":
            named = "; ".join(f"{a.where} {a.construct} ({a.instead})"
                              for a, changed in conv.approximation_effects() if changed)
            message = (f"the converted chat template of {sources[0].name} is approximated: {named} change(s) the "
                       f"prompt on {', '.join(bad)}")
        else:
            message = f"the converted chat template of {sources[0].name} differs from it on: {', '.join(bad)}"
        raise SpecError(str(spec.path), "template.from", message,
                        hint=f"run `{shell_command('publish', 'template', 'convert', sources[0])}` to see the differences; "
                             "set [template] family/text/file instead")
    params = dict(spec.params)
    if "stop" not in params and conv.stops:
        params["stop"] = list(conv.stops)
    n = len(conv.check.compared)
    source = f"{sources[0].name}'s chat template, converted (identical on {n} checked conversations)"
    return replace(spec, template=TemplateSpec(source, conv.template, from_gguf=True,
                                               gguf_name=spec.template.gguf_name), params=params)


def _no_template_message(err) -> str:
    """`[template] from = "gguf"` on a GGUF without that chat template: what is missing."""
    if err.key == "tokenizer.chat_template":
        return (f"{Path(err.path).name} has no chat template (no tokenizer.chat_template in its header), "
                "so there is nothing to convert")
    named = ", ".join(err.names) if err.names else "none"
    return f"{Path(err.path).name} has no {err.key} (its named chat templates: {named})"


def _no_template_hint(err) -> str:
    """Where a chat template comes from when the GGUF has none: embed the model's own with
    `publish fix --chat-template`, or declare a base model (spec `[model] kind`)."""
    if err.key != "tokenizer.chat_template":
        return "set [template] name to one of the GGUF's named templates, or remove it to convert the default one"
    return (f"embed the model's chat template with `{shell_command('publish', 'fix', err.path, '--chat-template', 'FILE')}` (FILE: its "
            "tokenizer_config.json or chat_template.jinja), or, for a base model without a chat format, set "
            "[model] kind = \"base\" and remove [template]")


def _generated_before(out: Path) -> set[str]:
    """Plain file names an earlier build generated (its manifest, publish.staged.read_manifest);
    anything else in a damaged manifest is ignored."""
    files = read_manifest(out).get("files", [])
    if not isinstance(files, list):
        return set()
    return {f for f in files if isinstance(f, str) and f not in ("", ".", "..") and "/" not in f}


# -- GGUFs ------------------------------------------------------------------------------------

def _read_header(path: Path):
    from publish.gguf.reader import read_header

    return read_header(path)


def _quant_infos(spec: ReleaseSpec) -> list[QuantInfo]:
    quants = spec.resolve_quants()
    labels = [q.label for q in quants]
    rec = spec.card.recommended
    if rec is not None and rec not in labels:
        raise SpecError(str(spec.path), "card.recommended", f"{rec} is not one of the quants ({', '.join(labels)})",
                        hint="name one of the quant labels")
    out = []
    for q in quants:
        headers = [_read_header(p) for p in q.files]
        names = _staged_names(spec, q)
        if names[0] != q.files[0].name:
            _check_rename(spec, q, headers[0])
        n_params = sum(h.n_params for h in headers)
        n_bytes = sum(h.tensor_bytes for h in headers)
        bpw = n_bytes * 8 / n_params if n_params else None
        out.append(QuantInfo(q.label, q.files, names, sum(p.stat().st_size for p in q.files),
                             bpw, q.use or default_use(q.label), q.label == rec, header=headers[0]))
    return out


def check_stops(spec: ReleaseSpec, quants: list[QuantInfo]) -> None:
    """Refuse a stop string the model can never produce, before anything is written: lint's RP114
    (an error there too), judged by the same publish.folder_rules.stop_problem on the first
    quant's vocabulary (the quants of one release share it). Raises SpecError naming
    `params.stop[i]` (SpecErrors for several); a stop from the template family says so."""
    from publish.errors import SpecErrors
    from publish.folder_rules import stop_problem

    hdr = quants[0].header if quants else None
    if hdr is None:
        return
    stops = list(spec.params.get("stop", []))
    from_family = bool(spec.template.family_stop) and stops == list(spec.template.family_stop)
    where = quants[0].sources[0].name
    suggest = shell_command("publish", "template", "suggest", quants[0].sources[0])
    errors = []
    for i, stop in enumerate(stops):
        problem = stop_problem(stop, hdr)
        if problem is None:
            continue
        if from_family:
            hint = (f"family {spec.template.family}'s stop list does not fit this model: pick its family in "
                    f"[template], or set [params] stop to the token that ends a turn (`{suggest}` names it)")
        else:
            hint = ("remove it from [params] stop, or use the token that ends a turn for this model "
                    f"(`{suggest}` names it)")
        errors.append(SpecError(str(spec.path), f"params.stop[{i}]",
                                f"{problem} ({where}; publish lint reports it as RP114)", hint=hint))
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpecErrors(errors)


def _check_rename(spec: ReleaseSpec, q: Quant, hdr) -> None:
    """Refuse to stage `q` under a label its header contradicts (the staged name carries the label
    users pick as `hf.co/ORG/REPO:LABEL`). Raises SpecError naming both labels."""
    kv = hdr.kv.get("general.file_type")
    value = kv.value if kv is not None and isinstance(kv.value, int) and not isinstance(kv.value, bool) else None
    have = file_type_disagrees(q.label, value) if value is not None else None
    if have is None:
        return
    raise SpecError(str(spec.path), "quants",
                    f"{q.files[0].name} is labelled {q.label} in the spec but its header says {have} "
                    f"(general.file_type = {value}); the build would rename it to …-{q.label}.gguf",
                    hint=f"label it {have} in quants.files, or point the entry at the {q.label} file")


def _staged_names(spec: ReleaseSpec, q: Quant) -> tuple[str, ...]:
    """Keep the source name when it carries the label (Ollama's hf.co tag), else MODEL-LABEL.gguf."""
    names = []
    for p in q.files:
        if label_from_filename(p.name) == q.label:
            names.append(p.name)
            continue
        info = shard_info(p.name)
        suffix = f"-{info[0]:05d}-of-{info[1]:05d}" if info else ""
        names.append(f"{spec.model_name}-{q.label}{suffix}.gguf")
    return tuple(names)


def stage_file(src: Path, dst: Path) -> str:
    """Put `src` at `dst` as a hard link, else a reflink, else a copy (never a symlink).
    Returns what was done; "unchanged" when dst already is that file. Raises OutputPathError
    naming `dst` when it cannot be written (disk full, permission: fsutil.output_error); an
    OSError reading `src` passes through."""
    src = src.resolve()
    if dst.exists() and not dst.is_symlink():
        if os.path.samefile(src, dst):
            return "unchanged"
        s, d = src.stat(), dst.stat()
        if s.st_size == d.st_size and s.st_mtime_ns == d.st_mtime_ns:
            return "unchanged"
    tmp = temp_path(dst)
    try:
        with removed_if_interrupted(tmp):
            try:
                os.link(src, tmp)
                action = "hard link"
            except OSError:
                action = _reflink_or_copy(src, tmp)
            os.replace(tmp, dst)
    except OSError as err:
        if err.filename is not None and os.fspath(err.filename) == os.fspath(src):
            raise
        raise output_error(dst, err) from None
    return action


def _reflink_or_copy(src: Path, tmp: Path) -> str:
    with open(src, "rb") as fsrc, open(tmp, "xb") as fdst:
        action = clone_or_copy(fsrc, fdst)
        fdst.flush()
        os.fsync(fdst.fileno())
    shutil.copystat(src, tmp)  # same mtime: a rebuild sees the copy as unchanged
    return action


_USE_TEXT = {
    "float": "full precision: reference quality, largest",
    "near-lossless": "near-lossless; for when memory is not tight",
    "high": "high quality, larger",
    "balance": "good balance of size and quality",
    "small": "small; some quality loss",
    "smallest": "smallest; noticeable quality loss",
}


def default_use(label: str) -> str:
    """The card's `use` text for a quant label when the spec gives none, by where the label sits
    on the size/quality scale (publish.quants.quality_class); a `UD-` dynamic quant says so."""
    text = _USE_TEXT[quality_class(label)]
    if normalize_label(label.upper())[1]:
        text = "Unsloth Dynamic: sensitive layers kept at higher precision; " + text
    return text


# -- text files -------------------------------------------------------------------------------

def render_texts(spec: ReleaseSpec, quants: list[QuantInfo], mmproj_name: str | None) -> dict[str, str]:
    """Every text file of the staged folder by name: `template`, `params` (JSON), `system` (when
    set), one `Modelfile.LABEL` per quant (FROM the quant and the projector; rendered through
    Modelfile.j2 and proven to parse back) and README.md. Raises ModelfileError when a value
    cannot be written into a Modelfile."""
    from publish.modelfile import ModelfileSpec, render

    texts = {"template": spec.template.text, "params": params_json(spec.params)}
    if spec.system is not None:
        texts["system"] = spec.system
    license_text = spec.license_text if spec.license_text is not None else spec.license
    for q in quants:
        from_ = (f"./{q.names[0]}",) + ((f"./{mmproj_name}",) if mmproj_name else ())
        use = shell_command("ollama", "create", f"{spec.model_name.lower()}:{q.label.lower()}", "-f", f"Modelfile.{q.label}")
        header = f"{spec.repo}:{q.label} (publish build). Use: {use}"
        mf = ModelfileSpec(from_=from_, template=spec.template.text, system=spec.system,
                           params=spec.params, licenses=(license_text,), header=header)
        texts[f"Modelfile.{q.label}"] = render(mf)
    texts["README.md"] = render_card(spec, quants, mmproj_name)
    return texts


def front_matter(spec: ReleaseSpec) -> dict:
    """The card's YAML front matter as a dict: base_model with base_model_relation quantized,
    license, pipeline_tag, quantized_by, and tags (gguf, ollama, base-model for a base release,
    the template family, the spec's own tags; no repeats), as the Hub reads a model card's
    metadata."""
    tags = []
    kind = ["base-model"] if spec.is_base else []
    for t in ("gguf", "ollama", *kind, *(spec.template.family and [spec.template.family] or []), *spec.card.tags):
        if t not in tags:
            tags.append(t)
    return {"base_model": spec.base_model, "base_model_relation": "quantized", "license": spec.license,
            "pipeline_tag": spec.pipeline_tag, "quantized_by": spec.quantized_by, "tags": tags}


def _fence(text: str) -> str:
    longest = run = 0
    for ch in text:
        run = run + 1 if ch == "`" else 0
        longest = max(longest, run)
    return "`" * max(3, longest + 1)


def example_input(spec: ReleaseSpec) -> str:
    """The user text the card's example shows: a greeting for a chat model, the start of a text
    for a base model."""
    return "Question: What is the capital of Japan?\nAnswer:" if spec.is_base else "Hello!"


def example_prompt(spec: ReleaseSpec) -> str | None:
    """The prompt Ollama builds from the template for one user message (None if it cannot run)."""
    from publish import gotmpl
    from publish.errors import TemplateError

    messages = ([{"role": "system", "content": spec.system}] if spec.system else []) + \
        [{"role": "user", "content": example_input(spec)}]
    try:
        return gotmpl.render(spec.template.text, messages)
    except TemplateError:
        return None


def render_card(spec: ReleaseSpec, quants: list[QuantInfo], mmproj_name: str | None) -> str:
    """README.md: the front matter as YAML, then the card template (templates/card, Jinja, undefined
    names are errors) with the quant table (size in decimal units, bits per weight), the params
    and the `ollama run hf.co/ORG/NAME:TAG` lines. Raises jinja2 errors only for a broken shipped
    template."""
    import jinja2
    import yaml

    from publish.resources import templates_dir

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(templates_dir() / "card")),
                             undefined=jinja2.StrictUndefined, autoescape=False,
                             keep_trailing_newline=True, trim_blocks=True, lstrip_blocks=True)
    fm = yaml.safe_dump(front_matter(spec), sort_keys=False, allow_unicode=True, default_flow_style=False)
    rows = [{"label": q.label, "file": q.names[0], "parts": len(q.names), "size": decimal_size(q.size),
             "bpw": "n/a" if q.bits_per_weight is None else f"{q.bits_per_weight:.2f}",
             "use": q.use, "recommended": q.recommended} for q in quants]
    params = [(k, json.dumps(v, ensure_ascii=False) if k == "stop" else json.dumps(v))
              for k, v in sorted(spec.params.items())]
    example = example_prompt(spec)
    return env.get_template("README.md.j2").render(
        example=example, example_fence=_fence(example or ""), base=spec.is_base,
        example_input=json.dumps(example_input(spec), ensure_ascii=False)[1:-1],
        front_matter=fm, title=spec.card.title or spec.name, repo=spec.repo, base_model=spec.base_model,
        quantized_by=spec.quantized_by, license=spec.license, quants=rows, mmproj=mmproj_name,
        params=params, template=spec.template.text.rstrip("\n"), template_source=spec.template.source,
        template_fence=_fence(spec.template.text), system=spec.system,
        system_fence=_fence(spec.system or ""), extra=(spec.card.extra or "").strip(), model_name=spec.model_name)
