"""The delivery client against a real receiver on 127.0.0.1: signed POSTs, outcomes, and the URL rules at work.

Host names are answered by a scripted resolver, so a test decides where a name points and when it changes
(DNS rebinding); a delivery that reaches the receiver under such a name went to the address that was checked.
"""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import trustme

from intwa import __version__
from intwa.adapters.callbacks.sender import HttpCallbackSender, open_callback_sender, retry_after_seconds
from intwa.adapters.clock import SystemClock
from intwa.domain.callbacks.models import RETRY_AFTER_CAP_SECONDS, DeliveryOutcome
from intwa.domain.callbacks.ping import new_event_id, ping_event_body
from intwa.domain.callbacks.signing import WebhookSecret
from intwa.domain.callbacks.targets import CallbackUrlRules
from intwa.domain.errors import CallbackUrlNotAllowed
from tests.callback_receiver import Answer, Receiver, StubResolver, running_receiver, unused_port

LOCAL = CallbackUrlRules(allow_http=True, allow_private_targets=True)
PUBLIC_ONLY = CallbackUrlRules(allow_http=True)
PUBLIC = "93.184.215.14"
HOST = "receiver.test"
NOT_PUBLIC = "`url` is not allowed: its host receiver.test must resolve to public internet addresses only"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with running_receiver() as receiver:
        yield receiver


@pytest.fixture
def resolver() -> StubResolver:
    resolver = StubResolver()
    resolver.always(HOST, "127.0.0.1")
    return resolver


@asynccontextmanager
async def sender_of(
    rules: CallbackUrlRules,
    resolver: StubResolver,
    *,
    timeout_seconds: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
) -> AsyncIterator[HttpCallbackSender]:
    async with asynccontextmanager(open_callback_sender)(
        rules, resolver, SystemClock(), timeout_seconds=timeout_seconds, ssl_context=ssl_context
    ) as sender:
        yield sender


def ping() -> tuple[str, bytes]:
    event_id = new_event_id(datetime.now(UTC))
    return event_id, ping_event_body(event_id, "IW0001", datetime.now(UTC), "request")


async def test_a_delivery_is_the_event_signed_for_this_attempt_and_verifies_with_standard_webhooks(
    receiver: Receiver, resolver: StubResolver
) -> None:
    secret = WebhookSecret.generate()
    event_id, body = ping()

    async with sender_of(LOCAL, resolver) as sender:
        outcome = await sender.send(receiver.url(host=HOST), event_id, body, [secret])

    assert outcome == DeliveryOutcome("delivered", status=200)
    [received] = receiver.requests
    assert (received.method, received.target, received.body) == ("POST", "/hook", body)
    assert received.headers["host"] == f"{HOST}:{receiver.port}"  # the name, though the address was pinned
    assert received.headers["content-type"] == "application/json"
    assert received.headers["user-agent"] == f"intwa/{__version__}"
    assert received.headers["webhook-id"] == event_id
    assert abs(int(received.headers["webhook-timestamp"]) - time.time()) < 5
    assert received.verified(secret.reveal()) == json.loads(body)


async def test_during_a_rotation_either_secret_verifies_the_delivery(
    receiver: Receiver, resolver: StubResolver
) -> None:
    new, old = WebhookSecret.generate(), WebhookSecret.generate()

    async with sender_of(LOCAL, resolver) as sender:
        await sender.send(receiver.url(host=HOST), *ping(), [new, old])

    [received] = receiver.requests
    for secret in (new, old):
        received.verified(secret.reveal())


async def test_a_receiver_on_a_private_address_gets_nothing_unless_private_targets_are_allowed(
    receiver: Receiver, resolver: StubResolver
) -> None:
    async with sender_of(PUBLIC_ONLY, resolver) as sender:
        by_name = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])
        by_address = await sender.send(receiver.url(), *ping(), [WebhookSecret.generate()])

    assert by_name == DeliveryOutcome("refused", error=NOT_PUBLIC)
    assert by_address == DeliveryOutcome("refused", error="`url` is not allowed: 127.0.0.1 is a loopback address")
    assert receiver.requests == []


async def test_dns_rebinding_after_the_url_was_set_is_refused_and_nothing_is_sent(receiver: Receiver) -> None:
    resolver = StubResolver({HOST: [[PUBLIC], ["127.0.0.1"]]})

    async with sender_of(PUBLIC_ONLY, resolver) as sender:
        await sender.check_target(receiver.url(host=HOST))  # set: the name pointed outside
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

    assert outcome == DeliveryOutcome("refused", error=NOT_PUBLIC)
    assert receiver.requests == []


async def test_dns_rebinding_between_the_check_and_the_connection_is_refused_too(receiver: Receiver) -> None:
    # The delivery's own check sees a public address; the connection's lookup, a moment later, the receiver's.
    resolver = StubResolver({HOST: [[PUBLIC], ["127.0.0.1"]]})

    async with sender_of(PUBLIC_ONLY, resolver) as sender:
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

    assert outcome == DeliveryOutcome("refused", error=NOT_PUBLIC)
    assert resolver.asked == [HOST, HOST]
    assert receiver.requests == []


async def test_a_host_with_a_public_and_a_private_address_is_refused(receiver: Receiver) -> None:
    resolver = StubResolver({HOST: [[PUBLIC, "127.0.0.1"]]})

    async with sender_of(PUBLIC_ONLY, resolver) as sender:
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])
        with pytest.raises(CallbackUrlNotAllowed, match="public internet addresses only"):
            await sender.check_target(receiver.url(host=HOST))

    assert outcome.result == "refused"
    assert receiver.requests == []


async def test_checking_a_target_resolves_its_host_and_refuses_one_that_does_not_resolve(
    resolver: StubResolver,
) -> None:
    resolver.always("hooks.example.com", PUBLIC)
    async with sender_of(CallbackUrlRules(), resolver) as sender:
        await sender.check_target("https://hooks.example.com/intwa")
        with pytest.raises(CallbackUrlNotAllowed) as refused:
            await sender.check_target("https://nowhere.example.com/intwa")
        with pytest.raises(CallbackUrlNotAllowed, match="https://"):
            await sender.check_target("http://hooks.example.com/intwa")

    assert refused.value.message == (
        "`url` is not allowed: its host nowhere.example.com must resolve to public internet addresses only"
    )


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        (Answer(204), DeliveryOutcome("delivered", status=204)),
        (Answer(410), DeliveryOutcome("gone", status=410, error="the receiver answered 410 Gone")),
        (Answer(500), DeliveryOutcome("retry", status=500, error="the receiver answered 500")),
        (Answer(404), DeliveryOutcome("retry", status=404, error="the receiver answered 404")),
        (
            Answer(429, {"Retry-After": "120"}),
            DeliveryOutcome("retry", status=429, error="the receiver answered 429", retry_after_seconds=120),
        ),
        (
            Answer(503, {"Retry-After": "999999999"}),
            DeliveryOutcome("retry", 503, "the receiver answered 503", retry_after_seconds=RETRY_AFTER_CAP_SECONDS),
        ),
        (Answer(500, {"Retry-After": "120"}), DeliveryOutcome("retry", status=500, error="the receiver answered 500")),
        (Answer(429, {"Retry-After": "soon"}), DeliveryOutcome("retry", status=429, error="the receiver answered 429")),
    ],
)
async def test_the_receivers_answer_decides_the_outcome(
    receiver: Receiver, resolver: StubResolver, answer: Answer, expected: DeliveryOutcome
) -> None:
    receiver.answer = answer

    async with sender_of(LOCAL, resolver) as sender:
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

    assert outcome == expected


async def test_a_redirect_is_not_followed_and_counts_as_a_failure(receiver: Receiver, resolver: StubResolver) -> None:
    receiver.answer = Answer(302, {"Location": receiver.url("/elsewhere")})

    async with sender_of(LOCAL, resolver) as sender:
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

    assert outcome == DeliveryOutcome(
        "retry", status=302, error="the receiver answered 302: redirects are not followed"
    )
    assert [request.target for request in receiver.requests] == ["/hook"]


async def test_a_receiver_slower_than_the_timeout_is_a_failure_to_retry(
    receiver: Receiver, resolver: StubResolver
) -> None:
    receiver.answer = Answer(200, delay_seconds=2)

    async with sender_of(LOCAL, resolver, timeout_seconds=0.3) as sender:
        started = time.monotonic()
        outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

    assert outcome == DeliveryOutcome("retry", error="no answer within 0.3 s")
    assert time.monotonic() - started < 1.5


async def test_network_failures_are_outcomes_to_retry_not_errors(receiver: Receiver, resolver: StubResolver) -> None:
    receiver.answer = Answer(close_without_answer=True)
    secret = WebhookSecret.generate()

    async with sender_of(LOCAL, resolver) as sender:
        closed = await sender.send(receiver.url(host=HOST), *ping(), [secret])
        refused = await sender.send(f"http://{HOST}:{unused_port()}/hook", *ping(), [secret])
        unresolved = await sender.send("http://nowhere.test/hook", *ping(), [secret])

    assert closed == DeliveryOutcome("retry", error="the connection broke before the receiver answered")
    assert refused == DeliveryOutcome("retry", error="connection refused")
    assert unresolved == DeliveryOutcome("retry", error="cannot resolve host nowhere.test")


async def test_the_system_resolver_is_used_and_its_other_addresses_are_tried(receiver: Receiver) -> None:
    # `localhost` may resolve to ::1 first, where nothing listens: the next address checked is tried.
    from intwa.adapters.callbacks.resolver import SystemResolver

    async with asynccontextmanager(open_callback_sender)(
        LOCAL, SystemResolver(), SystemClock(), timeout_seconds=5.0
    ) as sender:
        delivered = await sender.send(receiver.url(host="localhost"), *ping(), [WebhookSecret.generate()])
    async with asynccontextmanager(open_callback_sender)(
        PUBLIC_ONLY, SystemResolver(), SystemClock(), timeout_seconds=5.0
    ) as sender:
        refused = await sender.send(receiver.url(host="localhost"), *ping(), [WebhookSecret.generate()])

    assert delivered == DeliveryOutcome("delivered", status=200)
    assert refused.result == "refused"
    assert len(receiver.requests) == 1


@pytest.fixture(scope="module")
def certificate_authority() -> trustme.CA:
    return trustme.CA()


def tls_receiver(ca: trustme.CA, *names: str) -> Iterator[Receiver]:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    ca.issue_cert(*names).configure_cert(context)
    with running_receiver(context) as receiver:
        yield receiver


def trusting(ca: trustme.CA) -> ssl.SSLContext:
    context = ssl.create_default_context()
    ca.configure_trust(context)
    return context


async def test_over_tls_the_pinned_connection_still_verifies_the_hosts_certificate(
    certificate_authority: trustme.CA, resolver: StubResolver
) -> None:
    secret = WebhookSecret.generate()
    for receiver in tls_receiver(certificate_authority, HOST):
        async with sender_of(LOCAL, resolver, ssl_context=trusting(certificate_authority)) as sender:
            outcome = await sender.send(receiver.url(host=HOST), *ping(), [secret])

        assert outcome == DeliveryOutcome("delivered", status=200)
        [received] = receiver.requests
        received.verified(secret.reveal())


async def test_over_tls_a_certificate_for_another_name_fails_before_anything_is_sent(
    certificate_authority: trustme.CA, resolver: StubResolver
) -> None:
    for receiver in tls_receiver(certificate_authority, "other.test"):
        async with sender_of(LOCAL, resolver, ssl_context=trusting(certificate_authority)) as sender:
            outcome = await sender.send(receiver.url(host=HOST), *ping(), [WebhookSecret.generate()])

        assert outcome.result == "retry"
        assert outcome.error is not None
        assert outcome.error.startswith("TLS certificate not accepted: ")
        assert receiver.requests == []


def test_retry_after_is_seconds_or_an_http_date_capped_at_a_day() -> None:
    now = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)

    assert retry_after_seconds(" 30 ", now) == 30
    assert retry_after_seconds(format_datetime(now + timedelta(minutes=5), usegmt=True), now) == 300
    assert retry_after_seconds(format_datetime(now - timedelta(minutes=5), usegmt=True), now) == 0
    assert retry_after_seconds(format_datetime(now + timedelta(days=3), usegmt=True), now) == RETRY_AFTER_CAP_SECONDS
    assert retry_after_seconds("9" * 40, now) == RETRY_AFTER_CAP_SECONDS
    assert retry_after_seconds("-5", now) is None
    assert retry_after_seconds("tomorrow", now) is None
