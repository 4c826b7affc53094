"""`giftengine packages [--check]`: write (or check) the per-package requirements files and
functions/packages.json from main.py, the manifest and functions/requirements.txt
(giftengine_dev/packaging.py)."""

from __future__ import annotations


def register(sub) -> None:
    p = sub.add_parser(
        "packages", help="generate the per-deployable requirements and archives list"
    )
    p.add_argument("--check", action="store_true", help="fail if the generated files are stale")
    p.set_defaults(func=run)


def run(args) -> int:
    from giftengine_dev import packaging

    if args.check:
        stale = packaging.stale()
        for path in stale:
            print(f"stale: {path}")
        return 1 if stale else 0
    for path in packaging.write():
        print(f"wrote {path}")
    return 0
