"""Where the server may be told to connect: one check for every URL a request can point it at.

A request can make the studio open a connection (a labelling ``base_url``, an Ollama host). On a
laptop the common targets are local (Ollama on 127.0.0.1, vLLM on the LAN), so loopback and
private addresses stay allowed; what is refused is what no labelling server lives at and what
an attacker wants to reach from inside the machine:

- any scheme but ``http``/``https`` (``file://``, ``ftp://``, ``gopher://``...);
- link-local addresses (169.254.0.0/16, fe80::/10): the cloud metadata services of AWS, GCP,
  Azure, OpenStack and DigitalOcean answer at 169.254.169.254 and hand out instance credentials;
- the other known metadata addresses and names: ``fd00:ec2::254`` (AWS IPv6), 100.100.100.200
  (Alibaba), 168.63.129.16 (Azure wireserver), ``metadata.google.internal`` and friends;
- multicast and unspecified addresses, and URLs with user info (``http://a@b``, a phishing
  shape that hides the real host).

The host *name* is resolved and every address it resolves to is checked (IPv4-mapped IPv6
addresses are unwrapped), so ``metadata.example`` pointing at 169.254.169.254 is refused like
the literal. A name that does not resolve passes: there is nothing to connect to, and the client
checks again before each request.

What this does not cover: DNS rebinding *between* the check and the connection (a resolver that
answers a public address to the check and 169.254.169.254 to the connect a millisecond later).
The HTTP clients call :func:`check_outbound_url` before every request, which narrows that window
to one request but does not close it; pinning the checked address into the connection would.
Redirects are not followed by the labelling clients, so a 30x cannot lead elsewhere.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import SplitResult, urlsplit

from mistudio.errors import InvalidInputError

ALLOWED_SCHEMES = ("http", "https")
DEFAULT_PORTS = {"http": 80, "https": 443}
BLOCKED_NAMES = frozenset(
    {
        "metadata",
        "metadata.google.internal",
        "metadata.goog",
        "metadata.azure.com",
        "instance-data",
        "instance-data.ec2.internal",
    }
)
"""Host names of cloud metadata services (refused before resolving)."""
BLOCKED_ADDRESSES = frozenset(
    ipaddress.ip_address(a)
    for a in ("fd00:ec2::254", "100.100.100.200", "168.63.129.16", "169.254.169.254")
)
"""Metadata addresses outside (or, for clarity, inside) the link-local ranges."""

Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _refused_address(address: Address) -> str | None:
    """Why ``address`` is refused, or None."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    if address in BLOCKED_ADDRESSES:
        return "a cloud metadata address"
    if address.is_link_local:
        return "a link-local address"
    if address.is_multicast:
        return "a multicast address"
    if address.is_unspecified:
        return "an unspecified address"
    return None


def _resolve(host: str, port: int) -> list[Address]:
    """Every address ``host`` resolves to now (empty when it does not resolve)."""
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError, OSError):
        return []
    out: list[Address] = []
    for info in infos:
        text = str(info[4][0]).split("%", 1)[0]  # drop an IPv6 zone id
        try:
            out.append(ipaddress.ip_address(text))
        except ValueError:
            continue
    return out


def _split(url: str) -> SplitResult:
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError as exc:
        raise InvalidInputError(f"not a valid URL: {url!r} ({exc})") from None
    return parts


def normalise_url(url: str) -> str:
    """``scheme://host:port/path`` with lower-case scheme and host, the default port spelled
    out and no trailing slash: two spellings of one endpoint compare equal."""
    parts = _split(url)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower().rstrip(".")
    port = parts.port or DEFAULT_PORTS.get(scheme, 0)
    if ":" in host:
        host = f"[{host}]"
    path = parts.path.rstrip("/")
    query = f"?{parts.query}" if parts.query else ""
    return f"{scheme}://{host}:{port}{path}{query}"


def same_endpoint(a: str, b: str) -> bool:
    """Whether two base URLs name the same endpoint (scheme, host, port and path prefix)."""
    return normalise_url(a) == normalise_url(b)


def check_outbound_url(url: str, *, resolve: bool = True) -> str:
    """``url`` stripped, if the server may connect to it; else :class:`InvalidInputError`
    saying why (see the module docstring for the rules)."""
    url = url.strip()
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in ALLOWED_SCHEMES:
        shown = f"{scheme}://" if scheme else "no scheme"
        raise InvalidInputError(
            f"outbound URL {url!r} refused: only http:// and https:// are allowed (got {shown})"
        )
    host = (parts.hostname or "").lower().rstrip(".")
    if not host:
        raise InvalidInputError(f"outbound URL {url!r} refused: it names no host")
    if parts.username is not None or parts.password is not None:
        raise InvalidInputError(
            f"outbound URL refused: user info in the URL is not allowed (host {host})"
        )
    if host in BLOCKED_NAMES:
        raise InvalidInputError(f"outbound URL {url!r} refused: {host} is a cloud metadata host")
    try:
        literal: Address | None = ipaddress.ip_address(host.split("%", 1)[0])
    except ValueError:
        literal = None
    port = parts.port or DEFAULT_PORTS[scheme]
    addresses = [literal] if literal is not None else (_resolve(host, port) if resolve else [])
    for address in addresses:
        why = _refused_address(address)
        if why is not None:
            shown = host if literal is not None else f"{host} ({address})"
            raise InvalidInputError(f"outbound URL {url!r} refused: {shown} is {why}")
    return url
