"""Google Cloud clients, created once per process, pointed at emulators when configured.

Standard emulator variables are honoured (FIRESTORE_EMULATOR_HOST, PUBSUB_EMULATOR_HOST,
FIREBASE_AUTH_EMULATOR_HOST, STORAGE_EMULATOR_HOST). Cloud Tasks has no official emulator
variable; giftengine uses CLOUD_TASKS_EMULATOR_HOST (host:port of a gRPC emulator).
"""

from __future__ import annotations

import os
from functools import lru_cache

from google.cloud import firestore


@lru_cache(maxsize=4)
def firestore_client(project_id: str) -> firestore.Client:
    return firestore.Client(project=project_id)


@lru_cache(maxsize=4)
def tasks_client():
    from google.cloud import tasks_v2

    host = os.environ.get("CLOUD_TASKS_EMULATOR_HOST")
    if not host:
        return tasks_v2.CloudTasksClient()
    import grpc
    from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

    return tasks_v2.CloudTasksClient(
        transport=CloudTasksGrpcTransport(channel=grpc.insecure_channel(host))
    )


@lru_cache(maxsize=4)
def storage_client(project_id: str):
    from google.cloud import storage

    if os.environ.get("STORAGE_EMULATOR_HOST"):
        from google.auth.credentials import AnonymousCredentials

        return storage.Client(project=project_id, credentials=AnonymousCredentials())
    return storage.Client(project=project_id)
