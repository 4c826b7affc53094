"""gcloud-tasks-emulator with Cloud Tasks' task-name rule: a name already used is refused.

Run by the emulator's own virtualenv (`python tasks_emulator.py start --port P ...`, the
emulator's command line), so it imports nothing of giftengine. Real Cloud Tasks answers
ALREADY_EXISTS to a create whose name a task of the queue has, or had within about an hour
after it ran or was deleted; the emulator accepted every create and ran each, so a task
name created twice (by two processes, each remembering only its own) ran twice locally and
once in production, and the bench counted invocations production never makes. Here a name
is refused for the emulator's lifetime (hours at most: the same, for the names we use).
"""

from __future__ import annotations

import threading

from gcloud_tasks_emulator import server
from gcloud_tasks_emulator.__main__ import main
from google.api_core.exceptions import AlreadyExists

_lock = threading.Lock()
_used: set[str] = set()
_create = server.QueueState.create_task


def create_task(self, queue, task):
    if task.name:
        with _lock:
            if task.name in _used:
                raise AlreadyExists(f"Requested entity already exists: {task.name}")
            _used.add(task.name)
    return _create(self, queue, task)


server.QueueState.create_task = create_task

if __name__ == "__main__":
    main()
