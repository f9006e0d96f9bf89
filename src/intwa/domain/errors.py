"""Domain errors. Each carries the API error code of SPEC §3.8; its first three digits are the HTTP status."""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure that a client or operator should see as a coded message."""

    code: int = 50000

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class InvalidField(DomainError):
    """A request field is missing or breaks its rule (SPEC §3.2)."""

    code = 40000

    def __init__(self, field: str, rule: str) -> None:
        super().__init__(f"`{field}` {rule}")
        self.field = field


class MalformedBody(DomainError):
    """A request body that is not a JSON object: not JSON, not UTF-8, or nested too deeply to read."""

    code = 40000


class Unauthenticated(DomainError):
    """Missing, malformed or unknown API key."""

    code = 40100


class Forbidden(DomainError):
    """The account is disabled, or the key belongs to another account."""

    code = 40300


class WabaNotBound(DomainError):
    """The WABA is not bound to this account (or is unknown: the two are not told apart)."""

    code = 40400


class BindingNotFound(DomainError):
    """The account has no such binding."""

    code = 40401


class AccountNotFound(DomainError):
    """No account of that name (operator commands only)."""

    code = 40402


class CallbackNotSet(DomainError):
    """The account has no callback URL (callbackInfo, callbackDelete, callbackTest)."""

    code = 40400


class WabaBoundToAnotherAccount(DomainError):
    code = 40900


class PhoneNumberBoundToAnotherAccount(DomainError):
    code = 40901


class AccountAlreadyExists(DomainError):
    """An account of that name exists already (operator commands only)."""

    code = 40902


class WabaNotAccessible(DomainError):
    """Meta says the WABA does not exist or is not shared with the platform."""

    code = 42200


class PhoneNumberNotInWaba(DomainError):
    code = 42201


class PhoneNumberMismatch(DomainError):
    code = 42202


class CallbackUrlNotAllowed(DomainError):
    """A callback URL that intwa must not call: its scheme, a user name in it, or where its host points (§3.10)."""

    code = 42206


class ProviderError(DomainError):
    """Meta rejected the platform's credentials or answered something unexpected."""

    code = 50200

    def __init__(self, message: str, *, trace_id: str | None = None) -> None:
        if trace_id:
            message = f"{message} (fbtrace_id {trace_id})"
        super().__init__(message)
        self.trace_id = trace_id


class ProviderCredentialsRejected(ProviderError):
    """Meta rejected the platform's access token (invalid or expired)."""


class ProviderUnavailable(DomainError):
    """Meta is rate-limiting the platform or is unavailable, even after retries."""

    code = 50300

    def __init__(self, message: str, *, retry_after_seconds: int = 60) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class ProviderRateLimited(ProviderUnavailable):
    """Meta's rate limit for the app or the WABA is reached."""


STORAGE_RETRY_AFTER_SECONDS = 5
"""What a client is told to wait while intwa's own storage is unavailable: outages are mostly short."""


class StorageUnavailable(DomainError):
    """intwa's own storage cannot be used now (connection lost, disk full, locked too long): retry later.

    The storage adapters raise it in place of their libraries' errors; integrity and programming errors
    stay what they are. An outage is logged once, where it is noticed (`adapters/storage/outage.py`).
    """

    code = 50301

    def __init__(self, message: str, *, retry_after_seconds: int = STORAGE_RETRY_AFTER_SECONDS) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds


class StorageNotReady(StorageUnavailable):
    """The store is there to be set up, not broken: no database yet, or a schema this intwa cannot use.

    An operator fixes it (`intwa db migrate`, or a newer intwa); its message says how.
    """


class WebhookSignatureMissing(DomainError):
    """A webhook post without the `X-Hub-Signature-256` header: nothing is applied."""

    code = 40100


class WebhookSignatureInvalid(DomainError):
    """A webhook post whose signature is not the body's HMAC with the app secret: nothing is applied."""

    code = 40300


class WebhookVerificationRefused(DomainError):
    """Meta's subscription handshake did not present the configured verify token."""

    code = 40300


class WebhookDisabled(DomainError):
    """No app secret is configured, so the webhook endpoint answers like an unknown path."""

    code = 40400


class MalformedWebhook(MalformedBody):
    """A correctly signed webhook post whose body is not a JSON object."""


class RateLimited(DomainError):
    """The account sent more than `server.rate_limit_per_minute` requests in this minute."""

    code = 42900

    def __init__(self, message: str, *, retry_after_seconds: int) -> None:
        super().__init__(message)
        self.retry_after_seconds = retry_after_seconds
