"""TikTok LIVE ingest: the long-lived Cloud Run worker that turns TikTok LIVE messages into
EngagementEvents on Pub/Sub (docs/ingest.md).

Layers: `normalize`, `dedupe`, `backoff` are pure; `source` adapts the TikTokLive library;
`leases` and `targets` are the Firestore adapters; `worker` wires them; `__main__` is the
container entry point.
"""
