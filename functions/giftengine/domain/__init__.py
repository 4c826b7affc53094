"""The pure core: models and rules. No Google imports, no I/O."""
