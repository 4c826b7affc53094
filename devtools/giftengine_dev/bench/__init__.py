"""`giftengine bench`: measurements on the local cloud, each next to its floor from the same run."""

# Defaults of one run, for `bench.run.run` and the `giftengine bench` options alike (this
# module stays import-light: the CLI reads them before anything heavy is loaded).
HOT_SECONDS = 30.0  # publishing into the hot stream
LATENCY_SAMPLES = 120  # alert latency samples per phase (each with its two floors)
FLOOR_MESSAGES = 3000  # messages for each push-delivery rate floor
VIEWERS = 200  # distinct gifters in the hot stream
ONE_PER_S_SECONDS = 120.0  # one stream, one gift a second


def print_report(report: dict, as_json: bool) -> int:
    """Print a run's figures (JSON, or one per line); the exit code says whether its totals
    were exact."""
    import json

    if as_json:
        print(json.dumps(report, indent=2))
    else:
        for k, v in report.items():
            print(f"{k:28} {v}")
    return 0 if report["exact"] else 1
