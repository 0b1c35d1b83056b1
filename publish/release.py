"""`release(spec_path, options)`: lint -> build -> lint folder -> smoke (folder) -> push -> smoke (hf.co).

The build reads the staged folder once into a publish.staged.StagedFolder; "lint folder", the
folder smokes and the push take that object, and none of them reads the folder again.
"lint folder" runs `publish lint DIR` on it (the same `lint_paths` call, so every
staged-folder RP rule and the GG rules on the staged files apply: a split quant fails there).
Stops at the first failing stage unless `keep_going`; even with `keep_going` nothing is pushed
after a failed stage. Without `push` the run ends after the local
stages with the push plan's local side (files, sizes, sha256); the Hub is not contacted. The
hf.co smoke runs only when an Ollama server answers (or `serve` can start one); otherwise it is
reported as skipped with the reason.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from publish.addresses import ollama_hub_name
from publish.errors import PublishError, message_of
from publish.progress import note
from publish.smoke.base import DEFAULT_TIMEOUT
from publish.staged import StagedFolder
from publish.termtext import one_line, shell_command
from publish.units import human_size

PASSED, FAILED, SKIPPED = "passed", "failed", "skipped"
STAGES = ("lint", "build", "lint folder", "smoke folder", "smoke folder (ollama)", "push", "smoke hf.co")


@dataclass
class ReleaseOptions:
    """How `release` runs: where to build (`out_dir`, default dist/<NAME>), the GGUF folder,
    whether to push (and to which repo), the smoke backend and prompts, the Ollama host, the
    timeout in seconds per engine call, and the registry the hf.co smoke pulls from
    (`hub_registry`)."""
    out_dir: Path | None = None
    gguf_dir: Path | None = None
    push: bool = False
    repo: str | None = None          # default: the spec's repo
    backend: str = "ollama"          # folder smoke backend; the hf.co smoke always uses ollama
    via: str = "api"
    also_ollama: bool = False        # also smoke the folder through Ollama when one answers (or serve)
    keep_going: bool = False
    host: str | None = None
    serve: bool = False
    timeout: float = DEFAULT_TIMEOUT
    prompts: list | None = None      # Prompt list (--prompts) for the smokes; None: the spec's, else the defaults
    registry: str | None = None      # the registry the hf.co smoke pulls from; None: $HF_ENDPOINT, else hf.co


@dataclass
class StageResult:
    """One stage: its name (one of STAGES), PASSED/FAILED/SKIPPED, a one-line summary, its own
    report (`detail`), the exit code it asks for, its wall time in seconds, and the PublishError
    that ended it (None when it ran to the end, whatever its verdict)."""
    name: str
    status: str
    summary: str = ""
    detail: str = ""          # the stage's own report (lint findings, smoke table)
    exit_code: int = 0        # 1 checks failed, 2 setup / input error
    seconds: float = 0.0
    error: PublishError | None = None


@dataclass
class ReleaseResult:
    """What `release` did; `exit_code` is the largest exit code of a failed stage (0: none)."""
    spec: Path
    repo: str | None = None
    folder: Path | None = None
    staged: StagedFolder | None = None  # the folder as the build read it: lint, smoke and push take it
    stages: list[StageResult] = field(default_factory=list)
    local_files: list = field(default_factory=list)   # publish.hub.plan.LocalFile, without --push
    smoke_reports: dict = field(default_factory=dict)  # stage name -> SmokeReport
    folder_findings: list = field(default_factory=list)  # publish.findings.Finding of "lint folder"
    lint_findings: list = field(default_factory=list)  # publish.findings.Finding of "lint" (the GGUFs)
    built: list = field(default_factory=list)          # publish.build.StagedFile of "build"
    push_plan: object | None = None     # publish.hub.plan.PushPlan, with --push once planned
    push_result: object | None = None   # publish.hub.push.PushResult, with --push once pushed

    @property
    def failed(self) -> bool:
        """Whether any stage failed."""
        return any(s.status == FAILED for s in self.stages)

    @property
    def exit_code(self) -> int:
        """The largest exit code of a failed stage: 1 failed checks, 2 setup/input errors; 0 none."""
        return max([s.exit_code for s in self.stages if s.status == FAILED] or [0])

    def stage(self, name: str) -> StageResult | None:
        """The result of the stage called `name`, None when it is not in the run."""
        return next((s for s in self.stages if s.name == name), None)

    def to_dict(self) -> dict:
        """The run as `publish release --format json` prints it:

            {"spec": path, "repo": "ORG/NAME", "folder": path|None,
             "passed": bool, "exit_code": 0|1|2,
             "failed_stage": the first failed stage's name|None, "failed_stages": [name, ...],
             "pushed": bool,                               # a commit was made (or the repo was up to date)
             "stages": [{"name": one of STAGES, "status": "passed"|"failed"|"skipped",
                         "summary": str, "exit_code": int, "seconds": float,
                         "detail": str,                    # the stage's text report, or its error's message
                                                           # (no hint: that is error.hint, kept apart)
                         "error": {"message": str, "hint": str|None} | None,   # what ended it early
                         "result": ...}, ...]}

        A stage's "result" is None when it did not run or an error ended it; otherwise, for "lint" and "lint folder", {"findings": [Finding.to_dict(), ...]};
        for "build", {"folder": path, "files": [{"name", "action", "size"}, ...]}; for the smoke
        stages, SmokeReport.to_dict(); for "push", publish.hub.push.push_report(...) when it was
        planned with --push, else {"pushed": False, "local": [{"path", "size", "sha256"}, ...]}
        (the local side, without --push). Sizes are bytes, seconds wall time. No token or request
        header is ever part of it."""
        failed = [s.name for s in self.stages if s.status == FAILED]
        return {
            "spec": str(self.spec), "repo": self.repo, "folder": str(self.folder) if self.folder else None,
            "passed": not failed, "exit_code": self.exit_code,
            "failed_stage": failed[0] if failed else None, "failed_stages": failed,
            "pushed": self.push_result is not None,
            "stages": [{"name": s.name, "status": s.status, "summary": s.summary, "exit_code": s.exit_code,
                        "seconds": round(s.seconds, 6),
                        "detail": one_line(message_of(s.error)) if s.error else s.detail,
                        "error": {"message": s.error.message, "hint": s.error.hint} if s.error else None,
                        "result": self._stage_result(s)}
                       for s in self.stages],
        }

    def _stage_result(self, stage: StageResult) -> dict | None:
        """The structured result of `stage` for to_dict; None when it did not run or an error ended it."""
        if stage.error is not None or (stage.status == SKIPPED and not (stage.name == "push" and self.local_files)):
            return None
        if stage.name == "lint":
            return {"findings": [f.to_dict() for f in self.lint_findings]}
        if stage.name == "lint folder":
            return {"findings": [f.to_dict() for f in self.folder_findings]}
        if stage.name == "build":
            return {"folder": str(self.folder) if self.folder else None,
                    "files": [{"name": f.name, "action": f.action, "size": f.size} for f in self.built]}
        if stage.name in self.smoke_reports:
            return self.smoke_reports[stage.name].to_dict()
        if stage.name == "push":
            if self.push_plan is not None:
                from publish.hub.push import push_report

                return push_report(self.push_plan, self.push_result)
            if self.local_files:
                return {"pushed": False,
                        "local": [{"path": f.path, "size": f.size, "sha256": f.sha256} for f in self.local_files]}
        return None


def hub_registry(registry: str | None) -> str | None:
    """The registry the hf.co smoke pulls from: `registry` when given, else $HF_ENDPOINT when it
    names another Hub than huggingface.co / hf.co (a mirror or stand-in: the push went there, so
    the pull must come from there too), else None (hf.co)."""
    import os

    if registry is not None:
        return registry
    endpoint = (os.environ.get("HF_ENDPOINT") or "").strip().rstrip("/")
    if not endpoint or endpoint in ("https://huggingface.co", "https://hf.co"):
        return None
    return endpoint


def ollama_unavailable(host: str | None, serve: bool) -> str | None:
    """Why the hf.co smoke cannot run here, or None when an Ollama server answers / can be started.
    The way to ask for `--serve` is said in the caller's words when PUBLISH_SERVE_HINT gives them
    (`make demo` sets it to `make demo DEMO_FLAGS=--serve`)."""
    import os

    from publish.smoke.serve import base_url, find_ollama, server_version

    url = base_url(host)
    if server_version(url) is not None:
        return None
    if serve and find_ollama() is not None:
        return None
    if find_ollama() is not None:
        how = os.environ.get("PUBLISH_SERVE_HINT", "").strip() or "pass --serve"
        return f"no Ollama server answers at {url} ({how} to start one)"
    return f"Ollama is not available (no server at {url}, no `ollama` on PATH)"


def release(spec_path: str | Path, options: ReleaseOptions | None = None) -> ReleaseResult:
    """Run the stages of `STAGES` for the release spec at `spec_path` (module doc) and return one
    StageResult per stage, in order, with the staged folder (`result.staged`, the StagedFolder
    the build read and every later stage took), the smoke reports, the folder lint's findings and,
    without `options.push`, the push plan's local side. A stage's PublishError is recorded as its
    failure (exit code 1 for failed checks, 2 for setup and input errors), never raised; only a
    spec that does not load raises (SpecError / UsageError)."""
    options = options or ReleaseOptions()
    from publish.spec import load_spec

    result = ReleaseResult(spec=Path(spec_path))
    spec = load_spec(spec_path, gguf_dir=options.gguf_dir).with_repo(options.repo)  # bad spec: exit 2
    result.repo = spec.repo   # the card, Modelfiles and manifest the build writes name it too

    def run(name: str, work: Callable[[StageResult], None], *, needs: tuple[str, ...] = (),
            all_passed: bool = False) -> None:
        stage = StageResult(name, PASSED)
        blocked = [n for n in needs if (s := result.stage(n)) is None or s.status != PASSED]
        failed = [s.name for s in result.stages if s.status == FAILED]
        if failed and not options.keep_going:
            stage.status, stage.summary = SKIPPED, "an earlier stage failed"
        elif failed and all_passed:
            stage.status, stage.summary = SKIPPED, f"not run after a failed check ({', '.join(failed)})"
        elif blocked:
            stage.status, stage.summary = SKIPPED, f"needs {', '.join(blocked)}"
        else:
            note(f"release: {name} …")  # stderr, for a person at a terminal (publish.progress)
            start = time.perf_counter()
            try:
                work(stage)
            except PublishError as err:
                stage.error = err
                stage.status, stage.summary, stage.exit_code = FAILED, one_line(err.message), err.exit_code
                stage.detail = one_line(err.message) + (f"\n  hint: {one_line(err.hint)}" if err.hint else "")
            stage.seconds = time.perf_counter() - start
        result.stages.append(stage)

    def lint(stage: StageResult) -> None:
        from publish import report as lint_report
        from publish.lint import lint_paths

        paths = [str(p) for q in spec.resolve_quants() for p in q.files]
        mmproj = spec.resolve_mmproj()
        if mmproj is not None:
            paths.append(str(mmproj))
        res = lint_paths(paths, kind=spec.kind)
        result.lint_findings = res.findings
        stage.summary = lint_report.summary_line(res.findings, len(res.files))
        stage.detail = lint_report.format_text(res.findings, len(res.files)) if res.findings else ""
        if res.exit_code:
            stage.status, stage.exit_code = FAILED, res.exit_code

    def build(stage: StageResult) -> None:
        from publish.build import build_folder

        built = build_folder(spec, options.out_dir, gguf_dir=options.gguf_dir)
        result.folder, result.staged, result.built = built.folder, built.staged, built.files
        stage.summary = f"{result.folder} ({len(result.staged.files)} files)"

    def lint_folder(stage: StageResult) -> None:
        from publish import report as lint_report
        from publish.lint import lint_paths

        res = lint_paths([result.staged])   # exactly `publish lint DIR`, on the folder the build read
        result.folder_findings = res.findings
        stage.summary = lint_report.summary_line(res.findings, len(res.files))
        stage.detail = lint_report.format_text(res.findings, len(res.files)) if res.findings else ""
        if res.exit_code:
            stage.status, stage.exit_code = FAILED, res.exit_code

    def smoke_stage(target: str | StagedFolder, backend: str, name: str) -> Callable[[StageResult], None]:
        def work(stage: StageResult) -> None:
            from publish.smoke.report import text_table
            from publish.smoke.runner import SmokeOptions, smoke

            report = smoke(target, SmokeOptions(backend=backend, via=options.via, host=options.host,
                                                serve=options.serve, timeout=options.timeout,
                                                registry=hub_registry(options.registry),
                                                prompts=options.prompts or list(spec.smoke_prompts) or None))
            result.smoke_reports[name] = report
            stage.detail = text_table(report)
            n = report.counts()
            stage.summary = (f"{len(report.quants)} quant(s) × {len(report.prompts)} prompt(s): "
                             f"{n['pass'] + n['warn']} passed, {n['fail']} failed, {n['skip']} skipped "
                             f"({report.backend})")
            if report.failed:
                stage.status, stage.exit_code = FAILED, report.exit_code
                first = next(c for c in report.cases if c.status.value == "fail")
                stage.summary += f"; first failure: {first.quant} {first.prompt}: {first.reason}"
        return work

    def push(stage: StageResult) -> None:
        if not options.push:
            from publish.hub.plan import local_plan

            result.local_files = local_plan(result.staged)
            total = sum(f.size for f in result.local_files)
            stage.status = SKIPPED
            stage.summary = (f"no --push: {len(result.local_files)} file(s), {human_size(total)} would go to "
                             f"{result.repo} (plan below; the Hub was not contacted)")
            return
        from publish.hub.plan import format_plan, plan_push
        from publish.hub.push import push as push_to_hub

        plan = result.push_plan = plan_push(result.staged, result.repo)
        stage.detail = format_plan(plan)
        pushed = result.push_result = push_to_hub(plan)
        stage.summary = pushed.summary()

    run("lint", lint)
    run("build", build)
    run("lint folder", lint_folder, needs=("build",))
    run("smoke folder", lambda st: smoke_stage(result.staged, options.backend, "smoke folder")(st),
        needs=("build",))
    if options.also_ollama and options.backend != "ollama":
        name = "smoke folder (ollama)"
        if (why := ollama_unavailable(options.host, options.serve)) is not None:
            result.stages.append(StageResult(name, SKIPPED, why))
        else:
            run(name, lambda st: smoke_stage(result.staged, "ollama", name)(st), needs=("build",))
    run("push", push, needs=("build",), all_passed=options.push)
    hub_stage = StageResult("smoke hf.co", SKIPPED)
    push_stage = result.stage("push")
    if not options.push:
        hub_stage.summary = "nothing pushed (no --push)"
    elif push_stage is None or push_stage.status != PASSED:
        hub_stage.summary = "needs push"
    elif (why := ollama_unavailable(options.host, options.serve)) is not None:
        hub_stage.summary = why
    else:
        run("smoke hf.co", smoke_stage(ollama_hub_name(result.repo), "ollama", "smoke hf.co"))
        return result
    result.stages.append(hub_stage)
    return result


def format_summary(result: ReleaseResult) -> str:
    """The one screen printed at the end of `publish release`."""
    lines = [one_line(f"release {result.repo} from {result.spec}")]
    width = max(len(s.name) for s in result.stages)
    mark = {PASSED: "passed", FAILED: "FAILED", SKIPPED: "skipped"}
    for s in result.stages:
        took = f" ({s.seconds:.1f}s)" if s.seconds >= 0.05 else ""
        lines.append(one_line(f"  {s.name:<{width}}  {mark[s.status]:<7}  {s.summary}{took}"))
    if result.local_files:
        lines.append("")
        lines.append(f"Push plan for {result.repo} (local side only; run with --push to compare and upload):")
        from publish.hub.plan import format_local_files

        lines.extend(format_local_files(result.local_files))
        lines.append(one_line("  then: " + shell_command("publish", "push", result.folder, "--repo", result.repo)))
    lines.append("")
    if result.failed:
        failed = [s.name for s in result.stages if s.status == FAILED]
        lines.append(f"result: FAILED at {', '.join(failed)}")
    else:
        lines.append("result: passed" + ("" if any(s.name == "push" and s.status == PASSED for s in result.stages)
                                         else " (local stages; nothing was pushed)"))
    return "\n".join(lines)
