"""The local cloud: emulators plus every manifest function, started and stopped as one stack.

`giftengine dev up|status|env|down` and the pytest `cloud` fixture both use
`giftengine.devcloud.stack`. Runtime code may import `giftengine.devcloud.naming` (no
heavy imports) for names that must agree between the local cloud and production.
"""

from giftengine.devcloud.naming import bucket_name

__all__ = ["bucket_name"]
