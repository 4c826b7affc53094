"""`giftengine report STREAM [--json] [--out DIR]`: compute a stream's report from its event
log (and save it, as at stream end); `giftengine report --creator C --days N`: analytics."""

from __future__ import annotations

import json
from pathlib import Path

from giftengine_dev.cli._cloud import CliError, ensure_env, json_default


def _deps(out: Path | None):
    """The production wiring; with --out, the files also go to DIR."""
    from giftengine.bootstrap import export_deps

    deps = export_deps()
    if out is None:
        return deps
    from dataclasses import replace

    return replace(deps, files=_Tee(deps.files, out))


class _Tee:
    """Writes each file to the exports bucket and to a local folder (by its base name)."""

    def __init__(self, inner, folder: Path):
        self.inner, self.folder = inner, folder
        folder.mkdir(parents=True, exist_ok=True)

    def write(self, path: str, data: bytes, content_type: str) -> str:
        (self.folder / path.rsplit("/", 1)[-1]).write_bytes(data)
        return self.inner.write(path, data, content_type)


def run(args) -> int:
    from giftengine.reports import service

    if args.creator and args.stream_id:
        raise CliError("give a STREAM for its report or --creator C for analytics, not both")
    if not args.creator and not args.stream_id:
        raise CliError("give a STREAM, or --creator C for analytics")
    if args.out and Path(args.out).exists() and not Path(args.out).is_dir():
        raise CliError(f"--out {args.out!r} is a file, not a folder")
    ensure_env()
    if args.creator:
        out = service.creator_analytics(args.creator, _deps(None), args.days)
        print(json.dumps(out, indent=2, default=json_default))
        return 0
    deps = _deps(Path(args.out) if args.out else None)
    built = service.build_report(args.stream_id, deps)
    summary = built.summary
    if not built.report.events:
        raise CliError(f"no recorded events for stream {args.stream_id!r}", code=1)
    if args.json:
        print(json.dumps(summary, indent=2, default=json_default))
        return 0
    t = summary["totals"]
    print(f"{args.stream_id} [{summary['status']}] {summary['events']} events  "
          + "  ".join(f"{k}={v}" for k, v in t.items()))  # fmt: skip
    print(f"  live totals match: {summary['live_totals_match']}")
    for p in summary["peaks"]:
        print(f"  peak {p['minute']}: {p['coins']} coins, {p['reason']}")
    for name, uri in (summary.get("files") or {}).items():
        print(f"  {name:18} {uri}")
    if args.out:
        print(f"  files written to {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("report", help="a stream's report, or a creator's analytics")
    p.add_argument("stream_id", nargs="?")
    p.add_argument("--json", action="store_true", help="print the report as JSON")
    p.add_argument("--out", help="also write the CSV / Parquet files into this folder")
    p.add_argument("--creator", help="creator analytics instead of a stream report")
    p.add_argument("--days", type=int, choices=(7, 30, 90), default=30)
    p.set_defaults(func=run)
