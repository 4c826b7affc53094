"""Stream reports and creator analytics (docs/reports.md)."""
