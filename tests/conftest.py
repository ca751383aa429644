"""Test-wide guards: the suite never reaches beyond loopback, and never reads a developer's .env."""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fixtures import DAILY, fixture
from servers.eutils import FakeEutils

from storage import Store

_attempts: list[str] = []
_real_connect = socket.socket.connect
_real_connect_ex = socket.socket.connect_ex
_real_getaddrinfo = socket.getaddrinfo


class NetworkBlocked(RuntimeError):
    """Raised when code under test tries to reach a host that is not loopback."""


def _is_loopback(host: Any) -> bool:
    if not isinstance(host, str):
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.split("%", 1)[0]).is_loopback
    except ValueError:
        return False


def _check(address: Any) -> None:
    if isinstance(address, tuple) and address and not _is_loopback(address[0]):
        _attempts.append(repr(address))
        raise NetworkBlocked(f"test tried to reach a non-loopback address: {address!r}")


def _guarded_connect(self: socket.socket, address: Any) -> None:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    _real_connect(self, address)


def _guarded_connect_ex(self: socket.socket, address: Any) -> int:
    if self.family in (socket.AF_INET, socket.AF_INET6):
        _check(address)
    return _real_connect_ex(self, address)


def _guarded_getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
    # The unspecified address only names "every local interface" for a listener to bind.
    if host in ("0.0.0.0", "::", "", b""):  # noqa: S104
        return _real_getaddrinfo(host, *args, **kwargs)
    if host is not None and not _is_loopback(host if isinstance(host, str) else str(host)):
        _attempts.append(repr(host))
        raise NetworkBlocked(f"test tried to resolve a non-loopback host: {host!r}")
    return _real_getaddrinfo(host, *args, **kwargs)


# Installed at import, before any test module imports a client library.
socket.socket.connect = _guarded_connect  # type: ignore[method-assign]
socket.socket.connect_ex = _guarded_connect_ex  # type: ignore[method-assign]
socket.getaddrinfo = _guarded_getaddrinfo


@pytest.fixture(autouse=True)
def _no_network_escape() -> Iterator[None]:
    """Fail the test even when a library swallowed the NetworkBlocked error and retried."""
    _attempts.clear()
    yield
    if _attempts:
        escaped = ", ".join(_attempts)
        _attempts.clear()
        pytest.fail(f"test tried to reach the network beyond loopback: {escaped}")


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Run each test in its own folder so a .env, database or alerts folder never leaks in."""
    monkeypatch.chdir(tmp_path)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _drop_program_log_handler() -> Iterator[None]:
    """The CLI installs its log handler on the root logger; do not let it outlive the test."""
    yield
    import logging

    root = logging.getLogger()
    for handler in list(root.handlers):
        if handler.get_name() == "paper-surfer":
            root.removeHandler(handler)


@pytest.fixture(scope="module")
def sample_pubmed() -> Iterator[FakeEutils]:
    """A fake E-utilities serving NLM's 2019 sample file (176 records), one per test module;
    each module's own fixture resets it and picks the day it is served as."""
    with FakeEutils(rate_limit=None) as fake:
        fake.load(fixture("fatcat__pubmedsample_2019.xml"))
        yield fake


@pytest.fixture(scope="module")
def daily_pubmed() -> Iterator[FakeEutils]:
    """A fake E-utilities serving the slice of a day of PubMed (3,432 records), one per test
    module; each module's own fixture resets it and picks the day it is served as."""
    with FakeEutils(rate_limit=None) as fake:
        fake.load(fixture(DAILY))
        yield fake


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    """A new database in the test's own folder, closed after the test."""
    opened = Store(tmp_path / "ps.db")
    yield opened
    opened.close()
