"""Structured JSON logs in Cloud Logging's format: one JSON object per line on stdout, with
`severity`, `message`, the creator and stream as labels, and the session's trace, so Cloud
Logging groups a creator's lines and filters by `labels.creator`."""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime


class CloudLoggingFormatter(logging.Formatter):
    def __init__(self, project_id: str):
        super().__init__()
        self.project_id = project_id

    def format(self, record: logging.LogRecord) -> str:
        entry: dict = {
            "severity": record.levelname if record.levelname != "WARNING" else "WARNING",
            "message": record.getMessage(),
            "time": datetime.fromtimestamp(record.created, UTC).isoformat().replace("+00:00", "Z"),
            "logger": record.name,
        }
        labels = {
            k: str(getattr(record, k))
            for k in ("creator", "stream", "instance")
            if getattr(record, k, None)
        }
        if labels:
            entry["logging.googleapis.com/labels"] = labels
            entry.update(labels)
        trace = getattr(record, "trace", None)
        if trace:
            entry["logging.googleapis.com/trace"] = f"projects/{self.project_id}/traces/{trace}"
        if record.exc_info:
            entry["stack_trace"] = self.formatException(record.exc_info)
        entry["logging.googleapis.com/sourceLocation"] = {
            "file": record.pathname,
            "line": record.lineno,
            "function": record.funcName,
        }
        return json.dumps(entry, default=str)


def setup(project_id: str, level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stdout)
    handler.setFormatter(CloudLoggingFormatter(project_id))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # TikTokLive logs every parse at DEBUG and its own errors at ERROR; keep its errors only.
    # It installs its own plain-text handler (and stops propagation) the first time it is
    # asked for its logger: create that logger now, drop its handler and let its records
    # reach the JSON handler above, so no plain line is mixed into the JSON stream.
    from TikTokLive.client.logger import LogLevel, TikTokLiveLogHandler

    tiktok = TikTokLiveLogHandler.get_logger(level=LogLevel.ERROR)
    for h in list(tiktok.handlers):
        tiktok.removeHandler(h)
    tiktok.propagate = True
    tiktok.setLevel(logging.ERROR)
    logging.getLogger("httpx").setLevel(logging.WARNING)  # one line per TikTok request is noise
