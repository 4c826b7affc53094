"""Dev-only wallet tools (not deployed)."""
