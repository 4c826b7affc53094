"""Live interactions: polls voted from the app and from TikTok chat (docs/engagement.md)."""
