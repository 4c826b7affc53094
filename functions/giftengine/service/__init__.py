"""Use cases: each reads like the business story (load, decide, commit)."""
