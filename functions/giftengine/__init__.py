"""giftengine: exactly-once accounting and live state for live-stream gifting."""

__version__ = "0.1.0"
