"""`python -m local.artifact package|check`: build the deployable artifact, or build and inspect it.

    package   build .aws-sam/build for the template's architectures and runtime (then `sam deploy`)
    check     build the deploy artifact and the host copy the local cloud runs, inspect both, print
              sizes beside Lambda's 250 MB; exit 1 on any problem (part of `make test`)
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from local.artifact.build import ROOT, Artifact, BuildError, build, host_arch
from local.artifact.check import inspect

DEPLOY_DIR = ROOT / ".aws-sam" / "build"


def host_build_dir(template: Path) -> Path:
    """Where the local cloud's copy of `template`'s stack is built (one per template and CPU)."""
    slug = template.resolve().relative_to(ROOT).with_suffix("").as_posix().replace("/", "-") \
        if template.resolve().is_relative_to(ROOT) else "external-" + template.stem
    return ROOT / ".local" / "build" / slug / host_arch()


def build_host(template: Path, source_root: Path | None = None) -> Artifact:
    """Build (incrementally) the copy of `template`'s stack for this machine's CPU."""
    return build(template, host_build_dir(template), arch=host_arch(), source_root=source_root)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m local.artifact", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["package", "check"])
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--source-root", type=Path, default=None,
                        help="folder the template's CodeUri paths are relative to (default: the template's)")
    parser.add_argument("--out", type=Path, default=None, help=f"deploy artifact folder (default {DEPLOY_DIR})")
    args = parser.parse_args(argv)
    out = args.out or (DEPLOY_DIR if args.template.resolve() == (ROOT / "template.yaml") else
                       ROOT / ".local" / "build" / f"deploy-{args.template.stem}")
    started = time.monotonic()
    try:
        deploy = build(args.template, out, source_root=args.source_root)
        if args.command == "package":
            print(f"built {len(deploy.stack.functions)} functions and {len(deploy.stack.layers)} layers into "
                  f"{out} in {time.monotonic() - started:.1f} s; deploy with `sam deploy` (reads {out}/template.yaml)")
            return 0
        host = None if host_arch() in {t.arch for t in deploy.targets.values()} and _single_arch(deploy) \
            else build(args.template, host_build_dir(args.template), arch=host_arch(), source_root=args.source_root)
    except BuildError as error:
        print(f"artifact: build failed: {error}", file=sys.stderr)
        return 1
    reports = [inspect(deploy)] + ([inspect(host)] if host is not None else [])
    for artifact_report in reports:
        print(f"== {artifact_report.artifact.root.relative_to(ROOT) if artifact_report.artifact.root.is_relative_to(ROOT) else artifact_report.artifact.root}")
        print(artifact_report.table())
    problems = [p for r in reports for p in dict.fromkeys(r.problems)]
    elapsed = time.monotonic() - started
    if problems:
        print(f"\nartifact check FAILED ({len(problems)} problems, {elapsed:.1f} s):")
        for problem in problems[:60]:
            print("  - " + problem)
        if len(problems) > 60:
            print(f"  ... and {len(problems) - 60} more")
        return 1
    print(f"\nartifact check passed: every compiled file fits its function's CPU and runtime, every handler "
          f"imports from the artifact alone ({elapsed:.1f} s)")
    return 0


def _single_arch(artifact: Artifact) -> bool:
    return len({t.arch for t in artifact.targets.values()}) == 1


if __name__ == "__main__":
    sys.exit(main())
