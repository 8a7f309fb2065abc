"""Browser-facing guards: which Host the studio answers, and which pages may change it.

A studio on 127.0.0.1 is reachable from every web page its user opens. Two attacks need no token
leak and work against a plain local server (Jupyter and Arize Phoenix guard against both):

* **DNS rebinding.** A page on ``rebind.evil.example`` re-points its own name at 127.0.0.1 and
  then reads the studio *same-origin*: the browser sends ``Host: rebind.evil.example``. So every
  HTTP request and WebSocket handshake must name an allowed host:

  - loopback and IP literals are always allowed: ``localhost``, ``127.0.0.1``, ``[::1]`` and any
    other IP address. Rebinding needs a DNS name the attacker controls, and a page whose URL is
    an IP address *is* that address's origin, so an IP literal cannot be a rebinding;
  - the bound host (``MISTUDIO_HOST``) when it is a name;
  - the names in ``MISTUDIO_ALLOWED_HOSTS``, or ``*`` for any name.

  Bound to 0.0.0.0 or ``::``, the studio cannot know which names reach it (``gpu-box``,
  ``gpu-box.lab``, a proxy's name), and guessing (reverse DNS, the machine's hostname) would let
  in names that might also resolve elsewhere. So IP addresses work at once and names must be
  listed; the refusal says which variable to set. ``*`` is for a reverse proxy that checks Host
  itself; a non-loopback bind needs ``MISTUDIO_TOKEN`` anyway (``mistudio serve`` refuses
  otherwise), which a rebinding page never has.

* **Cross-site requests (CSRF).** A page on any site can submit a form or a ``no-cors`` fetch to
  ``http://127.0.0.1:8000``: the browser sends it, and with no token the studio would act on it
  (upload a dataset, toggle a favourite). Browsers mark such requests with ``Origin`` (and
  ``Referer``), so a request whose method is not safe (anything but GET, HEAD, OPTIONS, TRACE)
  and whose ``Origin`` (or, lacking one, ``Referer``) is another origin is refused. *Same
  origin* means the origin's host and port equal the request's ``Host`` (ports defaulted by
  scheme); ``MISTUDIO_ALLOWED_ORIGINS`` adds others. ``Origin: null`` (sandboxed frames, file
  pages) is foreign. Requests without either header pass: browsers always send ``Origin`` on
  cross-site POSTs, and curl, Python clients and the CLI are not browsers. Safe methods are not
  checked (they change nothing, and the Host check has already run).

* **Cross-site WebSockets.** Browsers do not apply the same-origin policy to WebSockets; they
  send ``Origin`` on the handshake instead. A handshake from a foreign origin is closed before it
  is accepted (uvicorn answers it with HTTP 403), so a page elsewhere cannot read job events.

One pure-ASGI middleware covers ``http`` and ``websocket`` scopes alike (Starlette's
``BaseHTTPMiddleware`` sees only HTTP). Refusals are a 403 with one ``{"detail": "..."}`` line
saying what to configure; the policy is rebuilt only when the settings change.
"""

from __future__ import annotations

import ipaddress
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any
from urllib.parse import urlsplit

from starlette.types import ASGIApp, Receive, Scope, Send

from mistudio.settings import get_settings

log = logging.getLogger(__name__)

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})
"""Methods that must not change state (RFC 9110 section 9.2.1): not checked for origin."""
LOCAL_NAMES = frozenset({"localhost"})
"""Host names always allowed: browsers resolve ``localhost`` to loopback themselves."""
WILDCARD_BINDS = frozenset({"", "0.0.0.0", "::", "[::]"})
"""Bind addresses that say nothing about the names clients use."""
DEFAULT_PORTS = {"http": 80, "ws": 80, "https": 443, "wss": 443}

HostPort = tuple[str, int | None]
"""A lower-cased host (IPv6 without brackets) and its port, None when not given."""


def _split_list(value: str) -> list[str]:
    return [part.strip() for part in value.split(",") if part.strip()]


def parse_host(value: str) -> HostPort | None:
    """``name``, ``name:port``, ``[v6]``, ``[v6]:port`` or a bare IPv6 address; None if invalid."""
    value = value.strip().lower()
    if not value:
        return None
    if value.startswith("["):
        end = value.find("]")
        if end < 0:
            return None
        host, rest = value[1:end], value[end + 1 :]
        if rest and not rest.startswith(":"):
            return None
        port_text = rest[1:] if rest else None
    elif value.count(":") > 1:  # a bare IPv6 address has no port
        host, port_text = value, None
    else:
        host, _, port_text = value.partition(":")
        port_text = port_text if ":" in value else None
    if not host or any(c in host for c in " /\\@?#"):
        return None
    if port_text is None:
        return host, None
    if not (port_text.isascii() and port_text.isdigit()) or not 0 < int(port_text) < 65536:
        return None
    return host, int(port_text)


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def origin_of(url: str) -> tuple[str, str, int] | None:
    """Scheme, host and port (defaulted by scheme) of an ``Origin`` or ``Referer`` value; None
    when it has no http(s) origin (``null``, ``file:``, garbage)."""
    try:
        parts = urlsplit(url.strip())
    except ValueError:  # e.g. an unclosed IPv6 bracket
        return None
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https") or not parts.netloc:
        return None
    parsed = parse_host(parts.netloc.rpartition("@")[2])
    if parsed is None:
        return None
    host, port = parsed
    return scheme, host, port if port is not None else DEFAULT_PORTS[scheme]


@dataclass(frozen=True)
class BrowserPolicy:
    """Which hosts the studio answers and which foreign origins may change it."""

    host_names: frozenset[str]
    """Allowed host names besides IP literals (lower case)."""
    any_host: bool
    origins: frozenset[tuple[str, str, int]]
    """Foreign origins allowed to send state-changing requests and open the WebSocket."""
    any_origin: bool

    def host_refusal(self, host_header: str | None) -> str | None:
        """Why a request with this ``Host`` header is refused, or None to serve it."""
        if host_header is None or self.any_host:
            return None  # no Host: HTTP/1.0 or a raw client, never a browser
        parsed = parse_host(host_header)
        if parsed is None:
            return f"host {_quote(host_header)} is not a valid Host header"
        host = parsed[0]
        if _is_ip(host) or host in self.host_names:
            return None
        return f"host {_quote(host)} is not allowed; add it to MISTUDIO_ALLOWED_HOSTS"

    def origin_refusal(self, origin: str, host_header: str | None, scheme: str) -> str | None:
        """Why a request from page ``origin`` to ``Host: host_header`` is refused, or None."""
        if self.any_origin:
            return None
        parsed = origin_of(origin)
        if parsed is not None:
            if parsed in self.origins:
                return None
            target = parse_host(host_header or "")
            if target is not None:
                port = target[1] if target[1] is not None else DEFAULT_PORTS.get(scheme, 80)
                if (parsed[1], parsed[2]) == (target[0], port):
                    return None
        return (
            f"cross-origin request from {_quote(origin)} refused; "
            "add the origin to MISTUDIO_ALLOWED_ORIGINS if it is yours"
        )

    def refusal(self, scope: Scope) -> str | None:
        """Why this HTTP request or WebSocket handshake is refused, or None to pass it on."""
        headers = _headers(scope)
        host = headers.get("host")
        why = self.host_refusal(host)
        if why is not None:
            return why
        scheme = str(scope.get("scheme") or ("ws" if scope["type"] == "websocket" else "http"))
        if scope["type"] == "http" and scope.get("method", "GET").upper() in SAFE_METHODS:
            return None
        origin = headers.get("origin")
        if origin is None and scope["type"] == "http" and "referer" in headers:
            origin = _referer_origin(headers["referer"])
        if origin is None:
            return None  # not sent by a browser page
        return self.origin_refusal(origin, host, scheme)


def _referer_origin(referer: str) -> str:
    """The ``scheme://host:port`` part of a Referer (quoted in refusals instead of the page)."""
    try:
        parts = urlsplit(referer.strip())
    except ValueError:
        return "null"
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else "null"


def _quote(value: str) -> str:
    return repr(value if len(value) <= 100 else value[:100] + "...")


def _headers(scope: Scope) -> Mapping[str, str]:
    """The first value of each header, names lower-cased (as Starlette's ``Headers`` reads)."""
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        found.setdefault(name.decode("latin-1").lower(), value.decode("latin-1"))
    return found


@lru_cache(maxsize=8)
def _policy(bind_host: str, allowed_hosts: str, allowed_origins: str) -> BrowserPolicy:
    names = set(LOCAL_NAMES)
    bound = parse_host(bind_host)
    if bind_host.strip() not in WILDCARD_BINDS and bound is not None:
        names.add(bound[0])
    hosts = _split_list(allowed_hosts)
    for entry in hosts:
        parsed = parse_host(entry)
        if parsed is not None:
            names.add(parsed[0])
    origins = _split_list(allowed_origins)
    allowed = {o for o in (origin_of(entry) for entry in origins) if o is not None}
    return BrowserPolicy(
        host_names=frozenset(names),
        any_host="*" in hosts,
        origins=frozenset(allowed),
        any_origin="*" in origins,
    )


def current_policy() -> BrowserPolicy:
    """The policy for the current settings (cached per distinct setting values)."""
    settings = get_settings()
    return _policy(settings.host, settings.allowed_hosts, settings.allowed_origins)


class BrowserGuard:
    """ASGI middleware applying :class:`BrowserPolicy` to every HTTP request and WebSocket
    handshake before the app sees it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket"):
            await self.app(scope, receive, send)
            return
        why = current_policy().refusal(scope)
        if why is None:
            await self.app(scope, receive, send)
            return
        client = scope.get("client") or ("?", 0)
        log.warning("refused %s %s from %s: %s", scope["type"], scope.get("path"), client[0], why)
        if scope["type"] == "http":
            await _send_json(send, 403, {"detail": why})
        else:
            await receive()  # websocket.connect
            # Closing before accept: uvicorn answers the handshake with 403.
            reason = why.encode()[:120].decode(errors="ignore")  # a close reason is <= 123 bytes
            await send({"type": "websocket.close", "code": 1008, "reason": reason})


async def _send_json(send: Send, status: int, body: dict[str, Any]) -> None:
    payload = json.dumps(body).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})
