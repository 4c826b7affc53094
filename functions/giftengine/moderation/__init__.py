"""Chat moderation: sanitizing, classifying, keyword filters, throttling, strikes and bans,
flags, audit.

Pure domain modules (sanitize, normalize, keywords, classify + lexicon, rules, strikes, bucket,
policy) import nothing from Google; `service` holds the use cases over the `store.ChatStore`
Protocol (`store.MemoryChatStore` in memory, `repo.ChatRepo` on Firestore); `http` holds the
entry points. docs/moderation.md describes the whole.
"""
