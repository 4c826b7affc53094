"""The `giftengine` command."""
