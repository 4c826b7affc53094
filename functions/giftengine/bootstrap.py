"""The composition root: the one place that builds every subsystem's services.

One `Settings` (giftengine.settings) is read from the environment once per process; each
builder below is cached and imports its adapters on first call, so a function builds only
what it uses (the chat scorer in the chat functions, stripe in the payment paths, nothing of
the wallet in the gift pipeline). Entry points ask for what they need:

- gift pipeline: `deps()`, `ownership()`, `settings_store()` (on_engagement, rollup, api)
- wallet: `wallet_service()`, `payment_flows()` (wallet_api, payments_webhook, wallet_jobs)
- moderation: `chat_deps()` (chat_api, on_comment), `chat_outbox()`
- the outbox job: `event_outboxes()` (wallet_jobs /outbox: in-app gifts, app chat, points
  redemptions: `reward_outbox()`, which the api's redeem route writes)
- ingest: `ingest_targets()` (ingest_targets), `ingest_worker()` (the Cloud Run worker),
  `ingest_session()` (one creator, for the dev CLI), `ingest_fleet()` (ingest_scale)
- live interactions: `live_deps()` (the live functions)
- reports: `report_deps()` (the api's report and analytics routes: no files) and
  `export_deps()` (on_stream_end, `giftengine report`: the files too, so only they reach
  pyarrow; decision 083)
"""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from typing import TYPE_CHECKING

from giftengine import settings as settings_mod

if TYPE_CHECKING:
    from giftengine.adapters.firestore_store import SettingsStore
    from giftengine.ingest.publisher import AsyncPublisher
    from giftengine.ingest.session import ConnectionFactory, CreatorSession, PublishBatch
    from giftengine.ingest.target_store import TargetRepo
    from giftengine.ingest.worker import Worker
    from giftengine.moderation.service import Deps as ChatDeps
    from giftengine.reports.service import Deps as ReportDeps
    from giftengine.service.fleet import FleetDeps
    from giftengine.service.outbox import Outbox
    from giftengine.service.pipeline import Deps
    from giftengine.wallet.checkout import PaymentFlows
    from giftengine.wallet.service import WalletService


# The manifest's Cloud Run service of the ingest worker (sized by `ingest_scale`).
FLEET_SERVICE = "ingest_worker"
# The app chat's outbox collection (the wallet's is wallet/paths.OUTBOX).
CHAT_OUTBOX = "chat_outbox"
# Points redemptions on their way to a live stream's log (service/rewards.py, decision 095).
REWARD_OUTBOX = "reward_outbox"


@lru_cache(maxsize=1)
def settings() -> settings_mod.Settings:
    return settings_mod.load()


def _logging() -> None:
    if not logging.getLogger().handlers:
        logging.basicConfig(
            level=settings().log_level, format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )


def project_id() -> str:
    return settings().project_id


def firestore():
    from giftengine.adapters.clients import firestore_client

    return firestore_client(project_id())


# ---- gift pipeline ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def deps() -> Deps:
    from giftengine.adapters.firestore_store import FirestoreStreamStore
    from giftengine.adapters.pubsub import RawPublisher
    from giftengine.adapters.tasks import TaskScheduler
    from giftengine.live.tasks import PollStartJobs, PollTasks
    from giftengine.service.pipeline import Deps

    _logging()
    s = settings().pipeline
    store = FirestoreStreamStore(firestore(), shards=s.state_shards, write_log=s.write_log)
    return Deps(
        settings=s,
        store=store,
        scheduler=TaskScheduler(s, meter=store.writes.count),
        dead_letters=RawPublisher(s.project_id, "dead_letter"),
        jobs=PollStartJobs(PollTasks(s)),  # command gifts' poll starts (decision 077)
    )


@lru_cache(maxsize=1)
def ownership():
    """Stream ownership records and creators' moderators (service.streams.OwnershipRepo)."""
    from giftengine.adapters.ownership import FirestoreOwnership

    return FirestoreOwnership(firestore())


@lru_cache(maxsize=1)
def battles_repo():
    """Creator-vs-creator battles (service.battles.BattleRepo)."""
    from giftengine.adapters.battles import FirestoreBattles

    return FirestoreBattles(firestore())


@lru_cache(maxsize=1)
def rewards_store():
    """XP, badges and points documents (service.rewards: the wallet's document-store shape)."""
    from giftengine.adapters.docstore import FirestoreDocStore

    return FirestoreDocStore(firestore())


@lru_cache(maxsize=1)
def settings_store() -> SettingsStore:
    """Goals and creator settings (service.goals)."""
    from giftengine.adapters.firestore_store import SettingsStore

    return SettingsStore(firestore())


@lru_cache(maxsize=1)
def overlay_store():
    """The creator's overlay settings and test alerts (service.overlay.OverlayStore)."""
    from giftengine.adapters.overlay import FirestoreOverlayStore

    return FirestoreOverlayStore(firestore())


@lru_cache(maxsize=1)
def overlay_media():
    """Creators' uploaded sounds and images (service.overlay.MediaFiles): the `media` bucket."""
    from giftengine.adapters.clients import storage_client
    from giftengine.adapters.overlay import StorageMedia
    from giftengine.naming import bucket_name

    return StorageMedia(storage_client(project_id()), bucket_name(project_id(), "media"))


# ---- wallet -------------------------------------------------------------------------------
class _Publisher:
    """Blocking publish through the shared EventPublisher, created on first use."""

    def __init__(self, project_id: str):
        self.project_id, self._pub = project_id, None

    def __call__(self, event) -> None:
        from giftengine.adapters.pubsub import EventPublisher

        if self._pub is None:
            self._pub = EventPublisher(self.project_id)
        try:
            self._pub.publish(event).result(timeout=30)
        except Exception:
            self._pub.resume(event.stream_id)  # unpause the ordering key for the retry
            raise


@lru_cache(maxsize=1)
def _event_publisher() -> _Publisher:
    """The process's one publisher of engagement events (in-app gifts, app chat, reactions,
    points redemptions, poll commands): one Pub/Sub client, created on first use."""
    return _Publisher(project_id())


@lru_cache(maxsize=1)
def chat_outbox() -> Outbox:
    """App chat messages on their way to the event log (moderation/chat_log.py, decision 092):
    the chat's outbox on the shared document store, published through the EventPublisher."""
    from giftengine.adapters.docstore import FirestoreDocStore
    from giftengine.service.outbox import Outbox

    return Outbox(
        FirestoreDocStore(firestore()),
        CHAT_OUTBOX,
        _event_publisher(),
        grace_s=settings().wallet.outbox_grace_s,
    )


@lru_cache(maxsize=1)
def reward_outbox() -> Outbox:
    """Points redemptions on their way to the creator's live stream's log (service/rewards.py,
    decision 095): the rewards' outbox on their document store, published through the
    EventPublisher (the api function)."""
    from giftengine.service.outbox import Outbox

    return Outbox(
        rewards_store(),
        REWARD_OUTBOX,
        _event_publisher(),
        grace_s=settings().wallet.outbox_grace_s,
    )


def event_outboxes() -> list[Outbox]:
    """Every outbox the outbox job flushes: in-app gifts, app chat, then points redemptions
    (service/outbox.py)."""
    return [wallet_service().outbox, chat_outbox(), reward_outbox()]


@lru_cache(maxsize=1)
def wallet_service() -> WalletService:
    from giftengine.adapters.docstore import FirestoreDocStore
    from giftengine.wallet import catalog_file
    from giftengine.wallet.service import WalletService

    return WalletService(
        FirestoreDocStore(firestore()),
        settings=settings().wallet,
        catalog=catalog_file.load(),
        publish=_event_publisher(),
    )


@lru_cache(maxsize=1)
def payment_flows() -> PaymentFlows:
    """Checkout and payment callbacks. The stripe library loads here, on first use: functions
    that never take a payment (wallet_jobs, most of wallet_api) do not import it. On the local
    cloud the provider endpoints (STRIPE_API_BASE, ...) name the stand-in that `dev up` runs."""
    from giftengine.wallet.checkout import PaymentFlows
    from giftengine.wallet.gateways import Esewa, Khalti
    from giftengine.wallet.stripe_gateway import StripeGateway

    w = wallet_service()
    s = w.s
    return PaymentFlows(
        w,
        stripe_gw=StripeGateway(
            s.stripe_secret_key, s.stripe_webhook_secret, s.stripe_api_base, s.stripe_tolerance_s
        ),
        esewa=Esewa(s.esewa_secret_key, s.esewa_product_code, s.esewa_form_url),
        khalti=Khalti(s.khalti_secret_key, s.khalti_api_base),
    )


# ---- chat moderation ----------------------------------------------------------------------
@lru_cache(maxsize=1)
def chat_deps() -> ChatDeps:
    """The chat service's dependencies."""
    from giftengine.moderation import service
    from giftengine.moderation.repo import ChatRepo

    s = settings()
    return service.Deps(
        repo=ChatRepo(firestore()),
        owners=ownership(),
        settings=s.chat,
        ip_hash_key=s.ip_hash_key,
        outbox=chat_outbox(),
        publish=_event_publisher(),  # app reactions (decision 094)
    )


# ---- TikTok ingest ------------------------------------------------------------------------
@lru_cache(maxsize=1)
def ingest_targets() -> TargetRepo:
    from giftengine.ingest.target_store import TargetRepo

    return TargetRepo(firestore())


def ingest_connections() -> ConnectionFactory:
    """TikTokLive connections (ingest/source.py) as the creator sessions open them; TikTokLive
    loads here."""
    from giftengine.ingest.source import Connection, configure_endpoints

    s = settings().ingest
    configure_endpoints(s)
    return lambda creator_id, sink: Connection(creator_id, s, sink)


def ingest_publisher() -> AsyncPublisher:
    from giftengine.adapters.pubsub import EventPublisher
    from giftengine.ingest.publisher import AsyncPublisher

    return AsyncPublisher(EventPublisher(project_id()), settings().ingest.publish_max_events)


def ingest_session(creator_id: str, publish: PublishBatch) -> CreatorSession:
    """One creator followed outside the worker (`giftengine ingest CREATOR`, no lease)."""
    from giftengine.ingest import normalize
    from giftengine.ingest.backoff import SignGate
    from giftengine.ingest.session import CreatorSession

    return CreatorSession(
        creator_id,
        settings().ingest,
        ingest_connections(),
        publish,
        SignGate(),
        normalize=normalize.normalize,
    )


def ingest_worker() -> Worker:
    """The Cloud Run worker (python -m giftengine.ingest)."""
    from giftengine.adapters import live_pointers
    from giftengine.ingest import normalize
    from giftengine.ingest.leases import LeaseStore, SharedGate
    from giftengine.ingest.target_store import TargetRepo
    from giftengine.ingest.worker import Worker

    s = settings().ingest
    db = firestore()

    def point_live(owner_uid: str, stream_id: str) -> None:
        live_pointers.write(None, db, live_pointers.live_entry(owner_uid, stream_id))

    return Worker(
        s,
        leases=LeaseStore(db, s.instance_id, s.lease_ttl_s),
        targets=TargetRepo(db),
        owners=ownership(),
        shared_gate=SharedGate(db, s.instance_id),
        publisher=ingest_publisher(),
        connect=ingest_connections(),
        normalize=normalize.normalize,
        point_live=point_live,
    )


@lru_cache(maxsize=1)
def ingest_fleet() -> FleetDeps:
    """What `ingest_scale` sizes: the target count in Firestore, the worker's Cloud Run service
    (on the local cloud, where there is no Cloud Run, a fleet that sets nothing), the bounds
    from the manifest's `ingest_worker` service and the creators per instance."""
    from giftengine import manifest
    from giftengine.adapters.fleet import CloudRunFleet, FirestoreTargetCounter, LocalFleet
    from giftengine.service.fleet import FleetDeps, FleetSettings

    s = settings()
    worker = manifest.load().services[FLEET_SERVICE]
    if os.environ.get("FIRESTORE_EMULATOR_HOST"):
        fleet = LocalFleet()
    else:
        fleet = CloudRunFleet(s.project_id, s.pipeline.region, FLEET_SERVICE.replace("_", "-"))
    return FleetDeps(
        targets=FirestoreTargetCounter(firestore()),
        fleet=fleet,
        settings=FleetSettings(
            per_instance=s.ingest.max_creators,
            floor=worker.min_instances,
            ceiling=worker.max_instances,
        ),
    )


# ---- reports -------------------------------------------------------------------------------
# Two builders so that only the function that writes the files ships pyarrow (the packager,
# giftengine_dev.packaging, counts a builder's imports where the builder is used; decision 083).
@lru_cache(maxsize=1)
def report_deps() -> ReportDeps:
    """The reports subsystem on Firestore, without files: a report computed with these is
    saved to Firestore only (the api: on demand)."""
    from giftengine.adapters.firestore_store import FirestoreStreamStore
    from giftengine.reports import service
    from giftengine.reports.firestore_store import FirestoreEventLog, FirestoreReportStore

    _logging()
    s = settings().pipeline
    db = firestore()
    return service.Deps(
        events=FirestoreEventLog(FirestoreStreamStore(db)),
        store=FirestoreReportStore(db),
        files=None,
        idle_timeout_s=s.streak_idle_timeout_s,
        retention_s=s.settled_streak_retention_s,
        ownership=ownership(),
    )


@lru_cache(maxsize=1)
def export_deps() -> ReportDeps:
    """`report_deps` plus the files: CSV and Parquet (pyarrow, imported when a report is
    written) in the exports bucket."""
    from dataclasses import replace

    from giftengine.adapters.clients import storage_client
    from giftengine.naming import bucket_name
    from giftengine.reports import export
    from giftengine.reports.storage import StorageFiles

    p = project_id()
    return replace(
        report_deps(),
        files=StorageFiles(storage_client(p), bucket_name(p, "exports")),
        encode=export.files,
    )


# ---- live interactions (polls) ------------------------------------------------------------
class _Live:
    """Live interactions (polls): the service's dependencies, wired on first use."""

    def __init__(self) -> None:
        from giftengine.adapters.docstore import FirestoreDocStore as DocStore
        from giftengine.live.service import Deps as LiveDeps
        from giftengine.live.tasks import PollTasks

        s = settings().pipeline
        self.project_id = s.project_id
        self.service = LiveDeps(
            store=DocStore(firestore()),
            scheduler=PollTasks(s),
            ownership=ownership(),
            publish=_event_publisher(),  # gift-weighted polls' commands to the rollup
        )


@lru_cache(maxsize=1)
def live_deps() -> _Live:
    _logging()
    return _Live()
