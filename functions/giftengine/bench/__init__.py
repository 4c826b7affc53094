"""`giftengine bench`: measurements on the local cloud, each next to its floor from the same run."""
