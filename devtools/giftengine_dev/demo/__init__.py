"""The demo: a bundled recorded-style session replayed with a live terminal display."""
