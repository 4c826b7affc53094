"""Chat moderation: sanitizing, scoring, keyword filters, throttling, bans, flags, audit.

Pure domain modules (sanitize, normalize, keywords, bucket, policy, scoring) import nothing
from Google; `service` holds the use cases; `repo` is the Firestore adapter; `profanity` is the
alt-profanity-check scorer adapter. docs/moderation.md describes the whole.
"""
