"""The callback URL rules (SPEC §3.10, §7): https only, no user name, and public internet addresses only."""

from __future__ import annotations

import ipaddress

import pytest

from intwa.domain.callbacks.targets import MAX_URL_LENGTH, CallbackUrl, CallbackUrlRules, excluded_kind
from intwa.domain.errors import CallbackUrlNotAllowed, InvalidField

STRICT = CallbackUrlRules()
OPEN = CallbackUrlRules(allow_http=True, allow_private_targets=True)


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.1.2.3", "private"),
        ("172.16.0.1", "private"),
        ("172.31.255.255", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # the cloud metadata service
        ("100.64.0.1", "shared (carrier-grade NAT)"),
        ("100.127.255.254", "shared (carrier-grade NAT)"),
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("239.255.255.250", "multicast"),
        ("255.255.255.255", "reserved"),
        ("240.0.0.1", "reserved"),
        ("198.18.0.1", "reserved"),
        ("192.0.0.8", "reserved"),
        ("192.0.2.10", "documentation"),
        ("203.0.113.7", "documentation"),
        ("::1", "loopback"),
        ("::", "unspecified"),
        ("fe80::1", "link-local"),
        ("fe80::1%eth0", "link-local"),
        ("fc00::1", "private"),
        ("fd12:3456:789a::1", "private"),
        ("ff02::1", "multicast"),
        ("2001:db8::1", "documentation"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped
        ("::ffff:10.0.0.1", "private"),
        ("::ffff:169.254.169.254", "link-local"),
        ("64:ff9b::a00:1", "private"),  # NAT64 of 10.0.0.1
        ("64:ff9b::7f00:1", "loopback"),  # NAT64 of 127.0.0.1
        ("2002:c0a8:101::1", "private"),  # 6to4 of 192.168.1.1
        ("2002:7f00:1::", "loopback"),  # 6to4 of 127.0.0.1
        ("::127.0.0.1", "reserved"),  # IPv4-compatible, deprecated
        ("2001::1", "reserved"),  # Teredo
        ("64:ff9b:1::1", "private"),
    ],
)
def test_non_public_addresses_are_excluded_with_their_kind(address: str, kind: str) -> None:
    assert excluded_kind(ipaddress.ip_address(address)) == kind


@pytest.mark.parametrize(
    "address",
    [
        "93.184.215.14",
        "8.8.8.8",
        "1.1.1.1",
        "2606:4700:4700::1111",
        "::ffff:8.8.8.8",
        "64:ff9b::808:808",
        "2002:808:808::",
    ],
)
def test_public_addresses_are_allowed_also_inside_an_ipv6_one(address: str) -> None:
    assert excluded_kind(ipaddress.ip_address(address)) is None


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "https://hooks.example.com/intwa",
            CallbackUrl("https://hooks.example.com/intwa", "https", "hooks.example.com", 443),
        ),
        (
            "HTTPS://Hooks.Example.COM:8443/a?b=c",
            CallbackUrl("HTTPS://Hooks.Example.COM:8443/a?b=c", "https", "hooks.example.com", 8443),
        ),
        ("https://93.184.215.14/hook", CallbackUrl("https://93.184.215.14/hook", "https", "93.184.215.14", 443)),
        ("https://[2606:4700::1]:9443/", CallbackUrl("https://[2606:4700::1]:9443/", "https", "2606:4700::1", 9443)),
    ],
)
def test_an_https_url_with_a_host_is_taken_apart(url: str, expected: CallbackUrl) -> None:
    assert STRICT.check_url(url) == expected


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://hooks.example.com/intwa", "it must be an https:// URL"),
        ("ftp://hooks.example.com/intwa", "it must be an https:// URL"),
        ("hooks.example.com/intwa", "it must be an https:// URL"),
        ("https:///intwa", "it must be an https:// URL with a host"),
        ("https://hooks.example.com:0/", "it must be an https:// URL with a host"),
        ("https://hooks.example.com:99999/", "with a valid host and port"),
        ("https://hooks.example.com:port/", "with a valid host and port"),
        ("https://[::1/", "with a valid host and port"),
        ("https://user:secret@hooks.example.com/", "it must not carry a user name or password"),
        ("https://user@hooks.example.com/", "it must not carry a user name or password"),
        ("https://hooks.example.com/#section", "it must not have a fragment"),
        ("https://hooks.example.com/ intwa", "without spaces or control characters"),
        ("https://hooks.example.com/\nintwa", "without spaces or control characters"),
        ("https://127.0.0.1/intwa", "127.0.0.1 is a loopback address"),
        ("https://[::1]:8443/", "::1 is a loopback address"),
        ("https://169.254.169.254/latest/meta-data", "169.254.169.254 is a link-local address"),
        ("https://[::ffff:10.0.0.1]/", "::ffff:10.0.0.1 is a private address"),
    ],
)
def test_a_url_that_breaks_the_rules_is_refused_saying_why(url: str, reason: str) -> None:
    with pytest.raises(CallbackUrlNotAllowed) as refused:
        STRICT.check_url(url)

    assert refused.value.code == 42206
    assert refused.value.message.startswith("`url` is not allowed: ")
    assert reason in refused.value.message


def test_a_url_with_credentials_is_refused_without_repeating_them() -> None:
    with pytest.raises(CallbackUrlNotAllowed) as refused:
        STRICT.check_url("https://user:hunter2@hooks.example.com/")

    assert "hunter2" not in refused.value.message


def test_plain_http_and_private_hosts_are_allowed_only_when_the_settings_open_them() -> None:
    assert OPEN.check_url("http://127.0.0.1:9000/hook").port == 9000
    assert CallbackUrlRules(allow_http=True).check_url("http://hooks.example.com/").port == 80
    with pytest.raises(CallbackUrlNotAllowed, match="it must be an http:// or https:// URL"):
        CallbackUrlRules(allow_http=True).check_url("ftp://hooks.example.com/")
    with pytest.raises(CallbackUrlNotAllowed, match="loopback"):
        CallbackUrlRules(allow_http=True).check_url("http://127.0.0.1:9000/hook")
    with pytest.raises(CallbackUrlNotAllowed, match="https://"):
        CallbackUrlRules(allow_private_targets=True).check_url("http://127.0.0.1:9000/hook")


@pytest.mark.parametrize(
    ("url", "rule"), [("", "must not be empty"), ("https://a.example/" + "x" * MAX_URL_LENGTH, "at most")]
)
def test_an_empty_or_overlong_url_is_an_invalid_field(url: str, rule: str) -> None:
    with pytest.raises(InvalidField, match=rule) as invalid:
        STRICT.check_url(url)

    assert invalid.value.code == 40000


def test_a_host_that_resolves_to_public_addresses_only_is_allowed() -> None:
    allowed = STRICT.check_addresses("hooks.example.com", ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"])

    assert [str(address) for address in allowed] == ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"]


@pytest.mark.parametrize(
    "addresses", [["10.0.0.5"], ["93.184.215.14", "10.0.0.5"], ["93.184.215.14", "::1"], [], ["not-an-address"]]
)
def test_a_host_with_one_address_that_is_not_public_or_none_is_refused_without_naming_it(addresses: list[str]) -> None:
    with pytest.raises(CallbackUrlNotAllowed) as refused:
        STRICT.check_addresses("hooks.example.com", addresses)

    assert refused.value.message == (
        "`url` is not allowed: its host hooks.example.com must resolve to public internet addresses only"
    )
    for address in addresses:
        assert address not in refused.value.message


def test_private_addresses_pass_when_the_settings_allow_them() -> None:
    assert [str(address) for address in OPEN.check_addresses("receiver.test", ["127.0.0.1", "::1"])] == [
        "127.0.0.1",
        "::1",
    ]
