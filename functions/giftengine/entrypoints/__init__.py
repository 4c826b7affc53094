"""Entry points: Cloud Functions handlers, the CLI, the Cloud Run worker."""
