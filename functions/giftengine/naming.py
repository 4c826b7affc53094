"""Names that the local cloud, the runtime code and Terraform must derive the same way."""

from __future__ import annotations


def bucket_name(project_id: str, key: str) -> str:
    """Cloud Storage bucket for manifest bucket `key` (bucket names are global, so prefix)."""
    return f"{project_id}-{key}"


def topic_path(project_id: str, topic: str) -> str:
    return f"projects/{project_id}/topics/{topic}"


def subscription_path(project_id: str, subscription: str) -> str:
    return f"projects/{project_id}/subscriptions/{subscription}"


def queue_path(project_id: str, region: str, queue: str) -> str:
    return f"projects/{project_id}/locations/{region}/queues/{queue}"


def function_url_env(function: str) -> str:
    """Environment variable holding the base URL of an HTTP function (see config.Settings)."""
    return f"GIFTENGINE_URL_{function.upper()}"
