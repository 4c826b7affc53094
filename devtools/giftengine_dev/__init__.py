"""Dev tools for giftengine, never deployed: the `giftengine` CLI, the local cloud, benchmarks,
the demo, the web clients' build and server, and the payment providers' stand-in.

The deployable package (`giftengine`, under functions/) never imports this one; this one
imports it freely.
"""
