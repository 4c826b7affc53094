"""The local cloud: emulators plus every manifest function, started and stopped as one stack.

`giftengine dev up|status|env|down` and the pytest `cloud` fixture both use
`giftengine_dev.devcloud.stack`. Names that must agree between the local cloud and production
live in the deployable package (`giftengine.naming`, no heavy imports).
"""

from giftengine.naming import bucket_name

__all__ = ["bucket_name"]
