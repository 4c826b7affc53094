"""Adapters of the fleet use case: the number of ingest targets in Firestore, and the ingest
worker's instance count through the Cloud Run Admin API (v2, service-level manual scaling:
https://cloud.google.com/run/docs/configuring/services/manual-scaling). No rule here."""

from __future__ import annotations

from google.cloud import firestore

TARGETS = "ingest_targets"  # the collection ingest/targets.py writes

RUN_API = "https://run.googleapis.com/v2"


class FirestoreTargetCounter:
    def __init__(self, db: firestore.Client):
        self.db = db

    def count(self) -> int:
        # One aggregation query: billed as one read per 1,000 documents counted.
        result = self.db.collection(TARGETS).count().get()
        return int(result[0][0].value)


class CloudRunFleet:
    """The service's `scaling.manualInstanceCount`, read and patched alone (no new revision)."""

    def __init__(self, project: str, region: str, service: str, session=None):
        self.name = f"projects/{project}/locations/{region}/services/{service}"
        self._session = session

    @property
    def session(self):
        if self._session is None:
            import google.auth
            from google.auth.transport.requests import AuthorizedSession

            credentials, _ = google.auth.default(
                scopes=["https://www.googleapis.com/auth/cloud-platform"]
            )
            self._session = AuthorizedSession(credentials)
        return self._session

    def instances(self) -> int | None:
        r = self.session.get(f"{RUN_API}/{self.name}", timeout=30)
        r.raise_for_status()
        scaling = r.json().get("scaling") or {}
        return int(scaling.get("manualInstanceCount", 0))

    def set_instances(self, n: int) -> bool:
        r = self.session.patch(
            f"{RUN_API}/{self.name}",
            params={"updateMask": "scaling.manualInstanceCount,scaling.scalingMode"},
            json={"scaling": {"scalingMode": "MANUAL", "manualInstanceCount": n}},
            timeout=30,
        )
        r.raise_for_status()
        return True


class LocalFleet:
    """The local cloud runs no Cloud Run: the plan is computed and reported, nothing is set."""

    def instances(self) -> int | None:
        return None

    def set_instances(self, n: int) -> bool:
        return False
