"""`giftengine smoke --project ID [--region R] [--json]`: after a deploy, sign in a test user,
publish a test gift, read it back through Firestore and call each public endpoint once,
reporting each step (giftengine_dev/smoke.py). Exit status 0 only if every step passed.

Against the local cloud when its emulator variables are set (the test suite does that) or a
`giftengine dev up` stack runs; against the real project otherwise (docs/deploy.md)."""

from __future__ import annotations

import json
import os
import sys


def register(sub) -> None:
    p = sub.add_parser(
        "smoke", help="end-to-end smoke test of a deployed project (or the local cloud)"
    )
    p.add_argument("--project", required=True, help="GCP project id of the deployed environment")
    p.add_argument("--region", default=None, help="functions' region (default: the manifest's)")
    p.add_argument(
        "--base-url",
        default=None,
        help="where the public functions are reached (default: https://PROJECT.web.app, "
        "or each function's own URL in the local cloud)",
    )
    p.add_argument(
        "--api-key", default=None, help="Firebase web API key (default: the site's /config.json)"
    )
    p.add_argument(
        "--timeout", type=float, default=60.0, help="seconds to wait for the gift to be counted"
    )
    p.add_argument("--json", action="store_true", help="one JSON report instead of a line per step")
    p.set_defaults(func=run)


def run(args) -> int:
    from giftengine import manifest

    from giftengine_dev import smoke
    from giftengine_dev.cli._cloud import ensure_env

    region = args.region or manifest.load().region
    if not os.environ.get("FIRESTORE_EMULATOR_HOST"):
        os.environ.setdefault("GIFTENGINE_PROJECT", args.project)
    ensure_env()
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        target = smoke.local_target(args.project, region, args.base_url)
    else:
        target = smoke.cloud_target(args.project, region, args.base_url, args.api_key)
    target.read_timeout_s = args.timeout

    def line(step: smoke.Step) -> None:
        if not args.json:
            mark = "ok  " if step.ok else "FAIL"
            print(f"{mark} {step.name:<28} {step.seconds:>7.2f}s  {step.detail}", flush=True)

    result = smoke.run(target, line)
    if args.json:
        json.dump(result.as_json(), sys.stdout, indent=2)
        print()
    else:
        print("smoke test " + ("passed" if result.ok else "FAILED"))
    return 0 if result.ok else 1
