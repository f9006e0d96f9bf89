"""The one composition root: adapters wired to the domain's ports, chosen from `Settings`.

Resources (database connections, the HTTP client) open on first use and close with
`shutdown_resources()`, so only the backends that the settings select are ever opened.
"""

from __future__ import annotations

import os
import secrets
import socket
import ssl
from operator import attrgetter

from dependency_injector import containers, providers

from intwa.adapters.callbacks.resolver import SystemResolver
from intwa.adapters.callbacks.sender import open_callback_sender
from intwa.adapters.clock import SystemClock
from intwa.adapters.provider.counting import CountingProvider
from intwa.adapters.provider.fake import FakeProvider
from intwa.adapters.provider.graph import GraphProvider, open_graph_client
from intwa.adapters.rate_limit.postgres import PostgresRateLimiter
from intwa.adapters.rate_limit.sqlite import open_sqlite_rate_limiter
from intwa.adapters.storage.postgres import PostgresStorage, open_postgres_pool
from intwa.adapters.storage.postgres_callbacks import PostgresCallbackStore
from intwa.adapters.storage.postgres_deliveries import PostgresDeliveries
from intwa.adapters.storage.read_cache import ReadCachingStorage
from intwa.adapters.storage.sqlite import SqliteStorage, open_sqlite_database
from intwa.adapters.storage.sqlite_callbacks import SqliteCallbackStore
from intwa.adapters.storage.sqlite_deliveries import SqliteDeliveries
from intwa.adapters.wake_up import WakeUp
from intwa.domain.accounts import AccountAdministration, Authenticate
from intwa.domain.bindings import BindPhoneNumber, ListBindings, UnbindPhoneNumber
from intwa.domain.callbacks.dispatch import DispatchDeliveries
from intwa.domain.callbacks.manage import DeleteCallback, PingCallback, SetCallback, ShowCallback
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.feed import ReadEvents
from intwa.domain.history import ListHistory
from intwa.domain.queries import ListPhoneNumbers, ListWabas
from intwa.domain.rate_limits import LimitRequests
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import BackgroundSync, SyncWabas
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.settings import Settings

MEMORY_MAX_AGE_SECONDS = 1.0
"""How long a process may answer from memory what another process may have changed (SPEC §3.7)."""


def _rate_limit_switch(limit_per_minute: int) -> str:
    return "on" if limit_per_minute else "off"


def new_instance_id() -> str:
    """Who this process is among the instances and workers sharing a store, e.g. in background-sync claims."""
    return f"{socket.gethostname()}-{os.getpid()}-{secrets.token_hex(3)}"


class Container(containers.DeclarativeContainer):
    settings = providers.Dependency(instance_of=Settings)
    clock = providers.Singleton(SystemClock)

    # Only `serve` and `db migrate` make a database that is not there; other commands open it or fail (SPEC §4).
    creates_database = providers.Dependency(instance_of=bool, default=True)

    sqlite_database = providers.Resource(
        open_sqlite_database, settings.provided.storage.sqlite_path, create=creates_database
    )
    postgres_database = providers.Resource(open_postgres_pool, settings.provided.storage.postgres_dsn)
    # Woken after a transaction that wrote customer events commits: a deliverer in this process starts at once.
    events_written = providers.Singleton(WakeUp)
    database_storage = providers.Selector(
        settings.provided.storage.backend,
        sqlite=providers.Singleton(SqliteStorage, sqlite_database, clock=clock, events_written=events_written),
        postgres=providers.Singleton(PostgresStorage, postgres_database, clock=clock, events_written=events_written),
    )
    storage = providers.Singleton(ReadCachingStorage, database_storage, max_age_seconds=MEMORY_MAX_AGE_SECONDS)

    graph_client = providers.Resource(open_graph_client, settings.provided.graph)
    # `settings.provided.provider` would name the provider's own `provider` attribute, hence the getter.
    provider_settings = providers.Callable(attrgetter("provider"), settings)
    provider = providers.Selector(
        provider_settings.provided.backend,
        graph=providers.Singleton(GraphProvider, graph_client, settings.provided.graph),
        fake=providers.Singleton(FakeProvider.from_file, provider_settings.provided.fake_data),
    )
    # The use cases get the provider through this counter (for `/metrics`); overriding `provider` keeps it.
    counting_provider = providers.Singleton(CountingProvider, provider)

    snapshots = providers.Singleton(
        Snapshots,
        storage,
        counting_provider,
        clock,
        ttl_seconds=settings.provided.cache.ttl_seconds,
        max_stale_seconds=settings.provided.cache.max_stale_seconds,
        refresh_wait_seconds=settings.provided.cache.refresh_wait_seconds,
    )
    authenticate = providers.Singleton(Authenticate, storage, clock)
    # Per-account request counters shared by every process on the storage backend (SQLite: a file of their own).
    rate_limiter = providers.Selector(
        settings.provided.storage.backend,
        sqlite=providers.Resource(open_sqlite_rate_limiter, settings.provided.storage.sqlite_path),
        postgres=providers.Singleton(PostgresRateLimiter, postgres_database),
    )
    # Without a limit nothing is counted and no rate limiter is ever opened.
    limit_requests = providers.Singleton(
        LimitRequests,
        providers.Selector(
            providers.Callable(_rate_limit_switch, settings.provided.server.rate_limit_per_minute),
            on=rate_limiter,
            off=providers.Object(None),
        ),
        clock,
        limit_per_minute=settings.provided.server.rate_limit_per_minute,
    )
    accounts = providers.Singleton(AccountAdministration, storage, clock)
    bind_phone_number = providers.Singleton(BindPhoneNumber, storage, counting_provider, snapshots, clock)
    unbind_phone_number = providers.Singleton(UnbindPhoneNumber, storage)
    list_bindings = providers.Singleton(ListBindings, storage)
    list_phone_numbers = providers.Singleton(ListPhoneNumbers, storage, snapshots)
    list_wabas = providers.Singleton(ListWabas, storage, snapshots)
    sync_wabas = providers.Singleton(SyncWabas, storage, snapshots)
    instance_id = providers.Singleton(new_instance_id)
    background_sync = providers.Singleton(
        BackgroundSync,
        snapshots,
        storage,
        clock,
        interval_seconds=settings.provided.sync.interval_seconds,
        holder=instance_id,
    )
    list_history = providers.Singleton(ListHistory, storage)
    apply_webhook = providers.Singleton(
        ApplyWebhook, storage, snapshots, clock, retention_days=settings.provided.events.retention_days
    )
    read_events = providers.Singleton(
        ReadEvents, storage, clock, retention_days=settings.provided.events.retention_days
    )

    # Callbacks (SPEC §3.10): their store, the URL rules, and the client that delivers to them.
    callback_store = providers.Selector(
        settings.provided.storage.backend,
        sqlite=providers.Singleton(SqliteCallbackStore, sqlite_database),
        postgres=providers.Singleton(PostgresCallbackStore, postgres_database),
    )
    callback_rules = providers.Singleton(
        CallbackUrlRules,
        allow_http=settings.provided.events.allow_http,
        allow_private_targets=settings.provided.events.allow_private_targets,
    )
    # Tests answer host names themselves, and trust their own certificate authority (None: certifi's bundle).
    host_resolver = providers.Singleton(SystemResolver)
    callback_ssl_context: providers.Object[ssl.SSLContext | None] = providers.Object(None)
    callback_sender = providers.Resource(
        open_callback_sender,
        callback_rules,
        host_resolver,
        clock,
        timeout_seconds=settings.provided.events.timeout_seconds,
        ssl_context=callback_ssl_context,
    )
    set_callback = providers.Singleton(SetCallback, callback_store, callback_sender, callback_rules, clock)
    show_callback = providers.Singleton(ShowCallback, callback_store)
    delete_callback = providers.Singleton(DeleteCallback, callback_store)
    ping_callback = providers.Singleton(PingCallback, callback_store, callback_sender, clock)
    deliveries = providers.Selector(
        settings.provided.storage.backend,
        sqlite=providers.Singleton(SqliteDeliveries, sqlite_database),
        postgres=providers.Singleton(PostgresDeliveries, postgres_database),
    )
    dispatch_deliveries = providers.Singleton(
        DispatchDeliveries,
        deliveries,
        callback_sender,
        clock,
        events_written,
        timeout_seconds=settings.provided.events.timeout_seconds,
        retry_schedule=settings.provided.events.retry_schedule,
        max_in_flight=settings.provided.events.max_in_flight,
    )


def build_container(settings: Settings) -> Container:
    """A container for these settings; nothing is opened until first use."""
    return Container(settings=settings)
