"""`giftengine packages [--out DIR]`: write the per-package requirements files and
packages.json (default build/packages) from main.py, the manifest and functions/requirements.txt
(giftengine_dev/packaging.py). cloudbuild.yaml runs it before Terraform and the image build."""

from __future__ import annotations

from pathlib import Path


def register(sub) -> None:
    p = sub.add_parser(
        "packages", help="generate the per-deployable requirements and archive lists"
    )
    p.add_argument(
        "--out", type=Path, default=None, help="output directory (default build/packages)"
    )
    p.set_defaults(func=run)


def run(args) -> int:
    from giftengine_dev import packaging

    for path in packaging.write(args.out or packaging.OUT):
        print(f"wrote {path}")
    return 0
