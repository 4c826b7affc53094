"""Dev-only moderation tools (not deployed)."""
