"""The one entrance from the HTTP handlers to the use cases: asked of the container once, at start-up."""

from __future__ import annotations

from litestar.di import Provide

from intwa.adapters.provider.counting import CountingProvider
from intwa.container import Container
from intwa.domain.accounts import Authenticate
from intwa.domain.bindings import BindPhoneNumber, UnbindPhoneNumber
from intwa.domain.callbacks.dispatch import DispatchDeliveries
from intwa.domain.callbacks.manage import DeleteCallback, PingCallback, SetCallback, ShowCallback
from intwa.domain.feed import ReadEvents
from intwa.domain.ports import Storage
from intwa.domain.queries import ListPhoneNumbers, ListWabas
from intwa.domain.rate_limits import LimitRequests
from intwa.domain.snapshots import Snapshots
from intwa.domain.sync import BackgroundSync
from intwa.domain.webhooks.apply import ApplyWebhook
from intwa.entrypoints.composition import resolve
from intwa.entrypoints.http.access import HttpStats
from intwa.settings import Settings


class Services:
    """What the handlers of one app use: its settings, its counters, and the use cases.

    Every handler takes it as the app's `services` dependency (`provide`), and the lifespan fills it
    with `start` before the first request: the handlers never ask the container themselves, and on the
    hot endpoints nothing is resolved per request. Until `start` has run there are no use cases.
    """

    __slots__ = (
        "apply_webhook",
        "authenticate",
        "background_sync",
        "bind_phone_number",
        "delete_callback",
        "dispatch_deliveries",
        "http_stats",
        "limit_requests",
        "list_phone_numbers",
        "list_wabas",
        "max_body_bytes",
        "ping_callback",
        "provider",
        "read_events",
        "set_callback",
        "settings",
        "show_callback",
        "snapshots",
        "storage",
        "unbind_phone_number",
    )

    authenticate: Authenticate
    limit_requests: LimitRequests
    bind_phone_number: BindPhoneNumber
    unbind_phone_number: UnbindPhoneNumber
    list_phone_numbers: ListPhoneNumbers
    list_wabas: ListWabas
    apply_webhook: ApplyWebhook
    read_events: ReadEvents
    storage: Storage
    provider: CountingProvider
    snapshots: Snapshots
    background_sync: BackgroundSync
    set_callback: SetCallback
    show_callback: ShowCallback
    delete_callback: DeleteCallback
    ping_callback: PingCallback
    dispatch_deliveries: DispatchDeliveries

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.max_body_bytes = settings.server.max_body_bytes  # read by every account request
        self.http_stats = HttpStats()

    async def start(self, container: Container) -> None:
        """Resolve the use cases (opening the storage and the provider's client) from the container."""
        self.storage = await resolve(container.storage)
        self.provider = await resolve(container.counting_provider)
        self.authenticate = await resolve(container.authenticate)
        self.limit_requests = await resolve(container.limit_requests)
        self.bind_phone_number = await resolve(container.bind_phone_number)
        self.unbind_phone_number = await resolve(container.unbind_phone_number)
        self.list_phone_numbers = await resolve(container.list_phone_numbers)
        self.list_wabas = await resolve(container.list_wabas)
        self.snapshots = await resolve(container.snapshots)
        self.background_sync = await resolve(container.background_sync)
        self.apply_webhook = await resolve(container.apply_webhook)
        self.read_events = await resolve(container.read_events)
        self.set_callback = await resolve(container.set_callback)
        self.show_callback = await resolve(container.show_callback)
        self.delete_callback = await resolve(container.delete_callback)
        self.ping_callback = await resolve(container.ping_callback)
        self.dispatch_deliveries = await resolve(container.dispatch_deliveries)

    def provide(self) -> Services:
        """This object, as the value of the `services` dependency."""
        return self

    def dependency(self) -> dict[str, Provide]:
        """The app-level `services` dependency: a plain function, so Litestar calls it without a thread."""
        return {"services": Provide(self.provide, sync_to_thread=False)}
