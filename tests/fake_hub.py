"""A local HTTP server that speaks the HuggingFace Hub wire format, for offline tests.

Repos are served from local folders (read into memory when added), so ``huggingface_hub``
(``snapshot_download``, ``hf_hub_download``, ``HfApi``, ``HfFileSystem``), ``transformers`` and
``datasets.load_dataset`` run against it unchanged: no mocks of their internals.

Endpoints (``{type}s`` is ``models`` or ``datasets``; dataset resolve URLs carry a ``datasets/``
prefix, as on huggingface.co)::

    GET  /api/{type}s/{org}/{name}[/revision/{rev}]     repo info (sha, siblings, gated, private)
    GET  /api/{type}s/{org}/{name}/tree/{rev}[/{path}]  tree listing (?recursive, cursor pages,
                                                        ``Link: <...>; rel="next"``)
    POST /api/{type}s/{org}/{name}/paths-info/{rev}     form ``paths=...`` -> path infos
    GET  /api/{type}s/{org}/{name}/refs                 branches (main)
    GET  /api/whoami-v2                                 the user of a known token
    GET  /api/{type}s?filter=&search=&author=&sort=&limit=  search (library tags, text in the
                                                        id), most downloaded first, paged
    HEAD|GET /[datasets/]{org}/{name}/resolve/{rev}/{path}
        small (git) file: 307 to /api/resolve-cache/... on the same host, then 200 with
          ``ETag`` (git blob sha1), ``X-Repo-Commit``, ``Content-Length``, ``Accept-Ranges``;
        LFS file (*.safetensors, *.bin, *.parquet, ... or >= 10 MB): 302 to a "CDN" served on a
          second port (a different origin, like cdn-lfs.hf.co), with ``X-Linked-Etag``
          (sha256), ``X-Linked-Size`` and ``X-Repo-Commit`` on the redirect itself;
        GET honours ``Range: bytes=a-b`` / ``a-`` / ``-n`` (206 / 416), on both hosts.
    anything else under /api/                           404 (telemetry etc. get a 200)

Revisions: ``main`` and the repo's fake commit sha (40 hex, derived from the content) resolve;
anything else is 404 ``X-Error-Code: RevisionNotFound``.

Errors are shaped like the Hub's, so ``huggingface_hub.hf_raise_for_status`` raises the same
classes as against huggingface.co:

* unknown repo: 401 (anonymous) or 404 (with a known token), ``X-Error-Code: RepoNotFound``
  -> ``RepositoryNotFoundError``; a private repo looks the same to anyone but ``valid_token``;
* gated repo, file downloads only (repo info and listings stay public, as on the Hub):
  no token -> 401 ``X-Error-Code: GatedRepo``; ``no_access_token`` (a real user who has not been
  granted access) -> 403 ``GatedRepo``; both raise ``GatedRepoError``. ``valid_token`` has access;
* unknown token, on any endpoint (public repos too): 401 with
  ``X-Error-Message: Invalid credentials in Authorization header`` and no error code, which
  huggingface_hub raises as a plain ``HfHubHTTPError`` (what huggingface.co does since 2025);
* missing file: 404 ``X-Error-Code: EntryNotFound`` (with ``X-Repo-Commit``).

Pointing already-imported libraries at the server
-------------------------------------------------
``huggingface_hub`` and ``datasets`` read ``HF_ENDPOINT``, ``HF_HOME``, ``HF_HUB_OFFLINE``...
once, at import. Setting the environment variables in a test is not enough; the fixture
also patches the module constants (see :func:`redirect_clients`):

* ``huggingface_hub.constants``: ``ENDPOINT``, ``HUGGINGFACE_CO_URL_TEMPLATE`` (used by
  ``hf_hub_url``), ``HF_HUB_OFFLINE``, ``HF_HOME``, ``HF_HUB_CACHE``, ``HF_TOKEN_PATH``...
  ``HfApi()`` / ``HfFileSystem()`` read ``constants.ENDPOINT`` when constructed;
* ``datasets.config``: ``HF_ENDPOINT``, ``HUB_DATASETS_URL``, ``HF_HUB_OFFLINE``,
  ``HF_DATASETS_OFFLINE``, the cache paths, and ``HF_UPDATE_DOWNLOAD_COUNTS = False`` (else
  ``load_dataset`` sends a HEAD to s3.amazonaws.com, which times out offline);
* ``HF_TOKEN`` is unset and the token file points into tmp, so no real token leaks in;
* ``HfFileSystem``'s instance cache is cleared (it caches listings per endpoint).

Usage::

    pytest_plugins = ["tests.fake_hub"]      # in the test module

    def test_x(fake_hub, tmp_path):
        fake_hub.add_repo("org/tiny", folder)                  # model repo
        fake_hub.add_repo("org/data", folder2, repo_type="dataset", gated=True)
        snapshot_download("org/data", repo_type="dataset", token=fake_hub.valid_token)
"""

from __future__ import annotations

import email.utils
import fnmatch
import hashlib
import json
import re
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, quote, unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

# Files the Hub stores in LFS by default (its .gitattributes template), plus anything >= 10 MB.
LFS_PATTERNS = [
    "*.7z",
    "*.arrow",
    "*.bin",
    "*.bz2",
    "*.ckpt",
    "*.ftz",
    "*.gguf",
    "*.gz",
    "*.h5",
    "*.joblib",
    "*.lz4",
    "*.mds",
    "*.mlmodel",
    "*.model",
    "*.msgpack",
    "*.npy",
    "*.npz",
    "*.onnx",
    "*.ot",
    "*.parquet",
    "*.pb",
    "*.pickle",
    "*.pkl",
    "*.pt",
    "*.pth",
    "*.rar",
    "*.safetensors",
    "*.tar",
    "*.tflite",
    "*.tgz",
    "*.wasm",
    "*.xz",
    "*.zip",
    "*.zst",
    "*tfevents*",
]
LFS_MIN_SIZE = 10 * 1024 * 1024
GITATTRIBUTES = "".join(f"{p} filter=lfs diff=lfs merge=lfs -text\n" for p in LFS_PATTERNS)
LAST_MODIFIED = "2024-05-01T12:00:00.000Z"
INVALID_CREDENTIALS = "Invalid credentials in Authorization header"


def git_blob_sha1(data: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


@dataclass
class RepoFileEntry:
    path: str
    data: bytes
    blob_id: str
    sha256: str
    lfs: bool

    def tree_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "file",
            "oid": self.blob_id,
            "size": len(self.data),
            "path": self.path,
        }
        if self.lfs:
            out["lfs"] = {"oid": self.sha256, "size": len(self.data), "pointerSize": 134}
        return out


@dataclass
class FakeRepo:
    repo_id: str
    repo_type: str
    files: dict[str, RepoFileEntry]
    sha: str
    gated: bool = False
    private: bool = False
    folders: set[str] = field(default_factory=set)
    library: str | None = None
    """Library tag (``saelens``, ...); None keeps the default info (``transformers``, no tags)."""
    tags: list[str] = field(default_factory=list)
    downloads: int = 0

    def all_tags(self) -> list[str]:
        """Its tags as the Hub lists them: the library is one of them."""
        return [*self.tags, *([self.library] if self.library else [])]

    def folder_oid(self, folder: str) -> str:
        inside = sorted(p for p in self.files if p.startswith(folder + "/"))
        return hashlib.sha1(("tree:" + folder + ":" + ",".join(inside)).encode()).hexdigest()

    def entry_json(self, path: str) -> dict[str, Any] | None:
        if path in self.files:
            return self.files[path].tree_json()
        if path in self.folders:
            return {"type": "directory", "oid": self.folder_oid(path), "size": 0, "path": path}
        return None

    def children(self, folder: str, recursive: bool) -> list[dict[str, Any]]:
        prefix = folder + "/" if folder else ""
        paths = [p for p in sorted(self.folders | set(self.files)) if p.startswith(prefix)]
        if not recursive:
            paths = [p for p in paths if "/" not in p[len(prefix) :]]
        # The Hub lists folders before files at each level.
        paths.sort(
            key=lambda p: (p.rsplit("/", 1)[0] if "/" in p else "", p not in self.folders, p)
        )
        return [e for p in paths if (e := self.entry_json(p)) is not None]


def _load_folder(folder: Path) -> dict[str, bytes]:
    files = {
        p.relative_to(folder).as_posix(): p.read_bytes()
        for p in sorted(folder.rglob("*"))
        if p.is_file() and ".git" not in p.relative_to(folder).parts
    }
    files.setdefault(".gitattributes", GITATTRIBUTES.encode())
    return files


class FakeHub:
    """The server, its repos and the tokens it knows. Use as a context manager (or the fixture)."""

    valid_token = "hf_FakeHubValidToken0123456789abcdefgh"
    """A user with access to every gated and private repo."""
    no_access_token = "hf_FakeHubNoAccessToken0123456789abcd"
    """A real user who has not been granted access to gated/private repos (403 GatedRepo)."""
    user_name = "fake-user"

    def __init__(self, page_size: int = 1000) -> None:
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.page_size = page_size
        """Entries per tree page (the Hub uses 1000); lower it to exercise pagination."""
        self.bytes_per_second: int | None = None
        """Serve bodies larger than 16 KiB at this rate (None: as fast as possible)."""
        self.requests: list[tuple[str, str, int, str | None]] = []
        """(method, path with query, status, Range header) of each request, in order."""
        self.moved: dict[tuple[str, str], str] = {}
        """(repo type, old id) -> the id the repo lives under now (see :meth:`move_repo`)."""
        self._lock = threading.Lock()
        self._hub = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=False))
        self._cdn = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self, cdn=True))
        for server in (self._hub, self._cdn):
            server.daemon_threads = True
        self.endpoint = f"http://127.0.0.1:{self._hub.server_address[1]}"
        self.cdn_endpoint = f"http://127.0.0.1:{self._cdn.server_address[1]}"
        self._threads: list[threading.Thread] = []

    # lifecycle

    def start(self) -> FakeHub:
        for server in (self._hub, self._cdn):
            thread = threading.Thread(
                target=server.serve_forever, args=(0.05,), daemon=True, name="fake-hub"
            )
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        for server in (self._hub, self._cdn):
            server.shutdown()
            server.server_close()
        for thread in self._threads:
            thread.join(timeout=5)

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # repos

    def add_repo(
        self,
        repo_id: str,
        folder: str | Path,
        repo_type: str = "model",
        gated: bool = False,
        private: bool = False,
        library: str | None = None,
        tags: list[str] | None = None,
        downloads: int = 0,
    ) -> str:
        """Serve ``folder`` as ``repo_id``; returns the fake commit sha of ``main``.

        ``library`` (e.g. ``saelens``), ``tags`` and ``downloads`` are what model search
        (``GET /api/models``) filters and sorts by; the library is also one of the tags.

        Adding the same repo again replaces it with a new commit. A ``.gitattributes`` (the Hub's
        LFS template) is added when the folder has none, as every Hub repo has one.
        """
        if repo_type not in ("model", "dataset"):
            raise ValueError(f"repo_type must be 'model' or 'dataset', not {repo_type!r}")
        if repo_id.count("/") > 1 or not all(repo_id.split("/")):
            raise ValueError(f"repo_id must be 'org/name' or 'name', not {repo_id!r}")
        contents = _load_folder(Path(folder))
        files: dict[str, RepoFileEntry] = {}
        for path, data in contents.items():
            lfs = len(data) >= LFS_MIN_SIZE or any(
                fnmatch.fnmatch(path.rsplit("/", 1)[-1], p) for p in LFS_PATTERNS
            )
            files[path] = RepoFileEntry(
                path, data, git_blob_sha1(data), hashlib.sha256(data).hexdigest(), lfs
            )
        digest = hashlib.sha1(f"{repo_type}:{repo_id}".encode())
        for path in sorted(files):
            digest.update(f"{path}\0{files[path].blob_id}\n".encode())
        folders = {"/".join(p.split("/")[:i]) for p in files for i in range(1, p.count("/") + 1)}
        repo = FakeRepo(
            repo_id,
            repo_type,
            files,
            digest.hexdigest(),
            gated,
            private,
            folders,
            library,
            list(tags or []),
            downloads,
        )
        with self._lock:
            self.repos[(repo_type, repo_id)] = repo
        return repo.sha

    def url(self, repo_id: str, filename: str, repo_type: str = "model", rev: str = "main") -> str:
        prefix = "datasets/" if repo_type == "dataset" else ""
        return f"{self.endpoint}/{prefix}{repo_id}/resolve/{rev}/{quote(filename)}"

    def requests_to(self, fragment: str) -> list[tuple[str, str, int, str | None]]:
        """The logged requests whose path contains ``fragment``."""
        return [r for r in self.requests if fragment in r[1]]

    def _log(self, method: str, path: str, status: int, range_header: str | None) -> None:
        with self._lock:
            self.requests.append((method, path, status, range_header))

    def move_repo(self, old_id: str, new_id: str, repo_type: str = "model") -> None:
        """Requests for ``old_id`` are redirected (307) to ``new_id``, as huggingface.co does for
        a renamed repo and for the canonical repos it moved under organisations (``gpt2`` ->
        ``openai-community/gpt2``, ``wikitext`` -> ``Salesforce/wikitext``)."""
        with self._lock:
            self.moved[(repo_type, old_id)] = new_id

    def _repo(self, repo_type: str, repo_id: str) -> FakeRepo | None:
        with self._lock:
            return self.repos.get((repo_type, repo_id))


class HubError(Exception):
    def __init__(self, status: int, message: str, code: str | None = None, **headers: str):
        super().__init__(message)
        self.status, self.message, self.code, self.headers = status, message, code, headers


_TYPES = {"models": "model", "datasets": "dataset"}
# A repo id is ``org/name`` or, for the Hub's canonical repos, a bare ``name`` (``gpt2``,
# ``wikitext``). Where the path after it is free (repo info), the repos the hub holds decide how
# many segments the id has (as on huggingface.co); elsewhere the next fixed part does.
_REPO_ID = r"([^/]+(?:/[^/]+)?)"
_API_REPO = re.compile(r"^/api/(models|datasets)/(.+)$")
_RESOLVE = re.compile(rf"^/(?:(datasets)/)?{_REPO_ID}/resolve/([^/]+)/(.+)$")
_RESOLVE_CACHE = re.compile(
    rf"^/api/resolve-cache/(models|datasets)/{_REPO_ID}/([0-9a-f]{{40}})/(.+)$"
)
_CDN = re.compile(rf"^/(models|datasets)/{_REPO_ID}/([0-9a-f]{{40}})/([0-9a-f]{{64}})/(.+)$")
_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
_THROTTLE_CHUNK = 16 * 1024


def _handler(hub: FakeHub, cdn: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(_HubHandler):
        pass

    Handler.hub = hub
    Handler.is_cdn = cdn
    return Handler


class _HubHandler(BaseHTTPRequestHandler):
    hub: FakeHub
    is_cdn: bool
    protocol_version = "HTTP/1.1"
    server_version = "FakeHub/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib signature
        pass

    def do_GET(self) -> None:
        self._dispatch()

    def do_HEAD(self) -> None:
        self._dispatch()

    def do_POST(self) -> None:
        self._dispatch()

    # plumbing

    def _dispatch(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        split = urlsplit(self.path)
        self.query = {k: v[-1] for k, v in parse_qs(split.query).items()}
        self.status = 500
        try:
            if self.is_cdn:
                self._cdn_file(split.path)
            else:
                self._route(split.path)
        except HubError as err:
            self._error(err)
        except Exception as exc:  # a bug in the fake: surface it as a 500 with the reason
            self._send(
                500, json.dumps({"error": f"fake hub: {exc!r}"}).encode(), "application/json"
            )
        finally:
            self.hub._log(self.command, self.path, self.status, self.headers.get("Range"))

    def _send(
        self,
        status: int,
        body: bytes = b"",
        content_type: str = "application/octet-stream",
        headers: dict[str, str] | None = None,
    ) -> None:
        self.status = status
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Date", email.utils.formatdate(usegmt=True))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD" and body:
            self._write_body(body)

    def _write_body(self, body: bytes) -> None:
        """The body, at ``hub.bytes_per_second`` when set (a slow link, so a test can kill a
        download halfway); a client that hangs up mid-body is not an error of the server."""
        rate = self.hub.bytes_per_second
        if not rate or len(body) <= _THROTTLE_CHUNK:
            self.wfile.write(body)
            return
        try:
            for start in range(0, len(body), _THROTTLE_CHUNK):
                self.wfile.write(body[start : start + _THROTTLE_CHUNK])
                self.wfile.flush()
                time.sleep(_THROTTLE_CHUNK / rate)
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _json(self, data: Any, headers: dict[str, str] | None = None) -> None:
        self._send(200, json.dumps(data).encode(), "application/json; charset=utf-8", headers)

    def _error(self, err: HubError) -> None:
        headers = {"X-Error-Message": err.message, **err.headers}
        if err.code:
            headers["X-Error-Code"] = err.code
        body = json.dumps({"error": err.message}).encode()
        self._send(err.status, body, "application/json; charset=utf-8", headers)

    # auth

    def _token(self) -> str | None:
        auth = self.headers.get("Authorization")
        if not auth:
            return None
        token = auth.removeprefix("Bearer ").strip()
        if token not in (self.hub.valid_token, self.hub.no_access_token):
            raise HubError(401, INVALID_CREDENTIALS)
        return token

    def _split_repo(self, type_plural: str, path: str) -> tuple[str, str]:
        """``(repo id, rest)`` of ``org/name/rest`` or ``name/rest``: two segments when they
        name a repo of this hub, else one when that does, else two (which then is not found)."""
        parts = path.split("/")
        two, one = "/".join(parts[:2]), parts[0]
        if len(parts) >= 2 and self.hub._repo(_TYPES[type_plural], unquote(two)) is not None:
            return two, "/".join(parts[2:])
        if self.hub._repo(_TYPES[type_plural], unquote(one)) is not None:
            return one, "/".join(parts[1:])
        return two, "/".join(parts[2:])

    def _find_repo(self, type_plural: str, repo_path: str) -> FakeRepo:
        token = self._token()
        repo_type = _TYPES[type_plural]
        repo_id = unquote(repo_path)
        repo = self.hub._repo(repo_type, repo_id)
        if repo is None or (repo.private and token != self.hub.valid_token):
            # Anonymous: 401 (the Hub does not tell "missing" from "private"); signed in: 404.
            raise HubError(401 if token is None else 404, "Repository not found", "RepoNotFound")
        return repo

    def _check_gate(self, repo: FakeRepo) -> None:
        token = self._token()
        if not repo.gated or token == self.hub.valid_token:
            return
        kind = "model" if repo.repo_type == "model" else "dataset"
        if token is None:
            raise HubError(
                401,
                f"Access to {kind} {repo.repo_id} is restricted. You must have access to it and "
                "be authenticated to access it. Please log in.",
                "GatedRepo",
            )
        raise HubError(
            403,
            f"Access to {kind} {repo.repo_id} is restricted and you are not in the authorized "
            f"list. Visit {self.hub.endpoint}/{repo.repo_id} to ask for access.",
            "GatedRepo",
        )

    def _revision(self, repo: FakeRepo, rev: str) -> str:
        rev = unquote(rev)
        if rev in ("main", repo.sha):
            return repo.sha
        raise HubError(404, f"Invalid rev id: {rev}", "RevisionNotFound")

    # routes

    def _route(self, path: str) -> None:
        if path == "/api/whoami-v2":
            self._whoami()
        elif path.startswith("/api/telemetry/"):
            self._send(200)
        elif path in ("/api/models", "/api/datasets") and self.command == "GET":
            self._search(_TYPES[path.rsplit("/", 1)[-1]])
        elif m := _RESOLVE_CACHE.match(path):
            repo = self._find_repo(m[1], m[2])
            self._check_gate(repo)
            self._file(repo, self._revision(repo, m[3]), unquote(m[4]))
        elif self._redirect_moved(path):
            return
        elif m := _API_REPO.match(path):
            repo_path, rest = self._split_repo(m[1], m[2])
            self._api(self._find_repo(m[1], repo_path), rest)
        elif (m := _RESOLVE.match(path)) and self.command in ("GET", "HEAD"):
            repo = self._find_repo(("datasets" if m[1] else "models"), m[2])
            self._check_gate(repo)
            self._resolve(repo, self._revision(repo, m[3]), unquote(m[4]))
        else:
            raise HubError(404, f"Sorry, we can't find the page you are looking for: {path}")

    def _redirect_moved(self, path: str) -> bool:
        """307 from a moved repo's old id to its new one (repo info and file URLs)."""
        for (repo_type, old), new in list(self.hub.moved.items()):
            plural = f"{repo_type}s"
            prefixes = [f"/api/{plural}/{old}"]
            prefixes.append(f"/datasets/{old}" if repo_type == "dataset" else f"/{old}")
            for prefix in prefixes:
                rest = path[len(prefix) :]
                under = path.startswith(prefix) and (rest == "" or rest.startswith("/"))
                if under and (prefix.startswith("/api/") or rest.startswith("/resolve/")):
                    query = urlsplit(self.path).query
                    location = prefix.replace(old, new) + rest + (f"?{query}" if query else "")
                    self._send(307, b"", headers={"Location": location})
                    return True
        return False

    def _whoami(self) -> None:
        if self._token() is None:
            raise HubError(401, "Invalid credentials in Authorization header")
        self._json({"type": "user", "name": self.hub.user_name, "auth": {"type": "access_token"}})

    def _api(self, repo: FakeRepo, rest: str) -> None:
        parts = rest.split("/", 2) if rest else []
        if not parts or parts[0] == "revision":
            if self.command != "GET":
                raise HubError(405, "Method not allowed")
            sha = self._revision(repo, parts[1] if len(parts) > 1 else "main")
            self._json(self._info(repo, sha))
        elif parts[0] == "tree" and len(parts) >= 2:
            sha = self._revision(repo, parts[1])
            self._tree(repo, sha, unquote(parts[2]) if len(parts) > 2 else "")
        elif parts[0] == "paths-info" and len(parts) == 2 and self.command == "POST":
            self._revision(repo, parts[1])
            form = parse_qs(self.body.decode())
            if self.headers.get("Content-Type", "").startswith("application/json"):
                form = {"paths": json.loads(self.body or b"{}").get("paths", [])}
            entries = [repo.entry_json(p.strip("/")) for p in form.get("paths", [])]
            self._json([e for e in entries if e is not None])
        elif parts[0] == "refs" and len(parts) == 1:
            branch = {"name": "main", "ref": "refs/heads/main", "targetCommit": repo.sha}
            self._json({"branches": [branch], "converts": [], "tags": []})
        else:
            raise HubError(404, f"Sorry, we can't find the page you are looking for: {rest}")

    def _search(self, repo_type: str) -> None:
        """``GET /api/models``: every ``filter`` value among the tags, ``search`` in the id
        (case-insensitive), ``author``; ``sort`` (downloads, likes, lastModified, createdAt)
        descending; ``limit`` per page, then a ``Link: rel="next"`` cursor, as the Hub pages."""
        query = parse_qs(urlsplit(self.path).query)
        token = self._token()
        wanted = [f for f in query.get("filter", []) if f]
        text = (query.get("search") or [""])[-1].lower()
        author = (query.get("author") or [""])[-1]
        with self.hub._lock:
            repos = [r for (t, _), r in self.hub.repos.items() if t == repo_type]
        found = [
            r
            for r in repos
            if all(f in r.all_tags() for f in wanted)
            and text in r.repo_id.lower()
            and (not author or r.repo_id.split("/")[0] == author)
            and (not r.private or token == self.hub.valid_token)
        ]
        sort = (query.get("sort") or [""])[-1]
        if sort == "downloads":
            found.sort(key=lambda r: (-r.downloads, r.repo_id))
        else:
            found.sort(key=lambda r: r.repo_id)
        limit = int((query.get("limit") or [1000])[-1])
        start = int((query.get("cursor") or [0])[-1])
        page = found[start : start + limit]
        headers = {}
        if start + limit < len(found):
            rest = "&".join(
                f"{k}={quote(v)}" for k, vs in query.items() if k != "cursor" for v in vs
            )
            link = f"{self.hub.endpoint}/api/{repo_type}s?{rest}&cursor={start + limit}"
            headers["Link"] = f'<{link}>; rel="next"'
        items = []
        for r in page:
            item: dict[str, Any] = {
                "_id": hashlib.md5(r.repo_id.encode()).hexdigest()[:24],
                "id": r.repo_id,
                "likes": 0,
                "trendingScore": 0,
                "private": r.private,
                "downloads": r.downloads,
                "tags": r.all_tags(),
                "createdAt": LAST_MODIFIED,
            }
            if repo_type == "model":
                item.update(modelId=r.repo_id, library_name=r.library)
            items.append(item)
        self._json(items, headers)

    def _info(self, repo: FakeRepo, sha: str) -> dict[str, Any]:
        blobs = self.query.get("blobs", "").lower() == "true"
        siblings = []
        for path, entry in sorted(repo.files.items()):
            sibling: dict[str, Any] = {"rfilename": path}
            if blobs:
                sibling.update(size=len(entry.data), blobId=entry.blob_id)
                if entry.lfs:
                    sibling["lfs"] = {
                        "size": len(entry.data),
                        "sha256": entry.sha256,
                        "pointerSize": 134,
                    }
            siblings.append(sibling)
        org = repo.repo_id.split("/")[0]
        info: dict[str, Any] = {
            "_id": hashlib.md5(repo.repo_id.encode()).hexdigest()[:24],
            "id": repo.repo_id,
            "author": org,
            "sha": sha,
            "lastModified": LAST_MODIFIED,
            "createdAt": LAST_MODIFIED,
            "private": repo.private,
            "gated": "manual" if repo.gated else False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "tags": repo.all_tags(),
            "siblings": siblings,
            "usedStorage": sum(len(e.data) for e in repo.files.values()),
        }
        if repo.repo_type == "model":
            info.update(modelId=repo.repo_id, library_name=repo.library or "transformers")
            if "config.json" in repo.files:
                try:
                    config = json.loads(repo.files["config.json"].data)
                    info["config"] = {
                        "architectures": config.get("architectures"),
                        "model_type": config.get("model_type"),
                    }
                except ValueError:
                    pass
        else:
            info.update(description="", citation="", cardData={})
        return info

    def _tree(self, repo: FakeRepo, sha: str, folder: str) -> None:
        folder = folder.strip("/")
        if folder and folder not in repo.folders:
            raise HubError(
                404, f"Entry not found: {folder}", "EntryNotFound", **{"X-Repo-Commit": sha}
            )
        recursive = self.query.get("recursive", "").lower() in ("true", "1")
        entries = repo.children(folder, recursive)
        start = int(self.query.get("cursor") or 0)
        page = entries[start : start + self.hub.page_size]
        headers = {}
        if start + self.hub.page_size < len(entries):
            query = "&".join(f"{k}={v}" for k, v in self.query.items() if k != "cursor")
            link = f"{self.hub.endpoint}{urlsplit(self.path).path}?{query}&cursor="
            headers["Link"] = f'<{link}{start + self.hub.page_size}>; rel="next"'
        self._json(page, headers)

    def _entry(self, repo: FakeRepo, sha: str, path: str) -> RepoFileEntry:
        entry = repo.files.get(path)
        if entry is None:
            raise HubError(404, "Entry not found", "EntryNotFound", **{"X-Repo-Commit": sha})
        return entry

    def _resolve(self, repo: FakeRepo, sha: str, path: str) -> None:
        entry = self._entry(repo, sha, path)
        plural = repo.repo_type + "s"
        headers = {"X-Repo-Commit": sha, "Access-Control-Expose-Headers": "X-Repo-Commit"}
        if entry.lfs:
            location = (
                f"{self.hub.cdn_endpoint}/{plural}/{repo.repo_id}/{sha}/{entry.sha256}/"
                f"{quote(path)}"
            )
            headers.update(
                {
                    "Location": location,
                    "ETag": f'"{entry.sha256}"',
                    "X-Linked-Etag": f'"{entry.sha256}"',
                    "X-Linked-Size": str(len(entry.data)),
                }
            )
            self._send(302, f"Found. Redirecting to {location}".encode(), "text/plain", headers)
        else:
            location = f"/api/resolve-cache/{plural}/{repo.repo_id}/{sha}/{quote(path)}"
            headers.update({"Location": location, "ETag": f'"{entry.blob_id}"'})
            self._send(
                307,
                f"Temporary Redirect. Redirecting to {location}".encode(),
                "text/plain",
                headers,
            )

    def _file(self, repo: FakeRepo, sha: str, path: str) -> None:
        entry = self._entry(repo, sha, path)
        headers = {"X-Repo-Commit": sha, "ETag": f'"{entry.blob_id}"'}
        self._serve_bytes(entry.data, path, headers)

    def _cdn_file(self, path: str) -> None:
        m = _CDN.match(path)
        if m is None or self.command not in ("GET", "HEAD"):
            raise HubError(403, "AccessDenied")
        repo = self.hub._repo(_TYPES[m[1]], unquote(m[2]))
        entry = repo.files.get(unquote(m[5])) if repo is not None else None
        if repo is None or entry is None or repo.sha != m[3] or entry.sha256 != m[4]:
            raise HubError(404, "NoSuchKey")
        self._serve_bytes(entry.data, entry.path, {"ETag": f'"{entry.sha256}"'})

    def _serve_bytes(self, data: bytes, path: str, headers: dict[str, str]) -> None:
        name = path.rsplit("/", 1)[-1]
        headers = {
            **headers,
            "Accept-Ranges": "bytes",
            "Content-Disposition": f"inline; filename*=UTF-8''{quote(name)}; filename=\"{name}\";",
            "Last-Modified": email.utils.formatdate(usegmt=True),
        }
        content_type = "application/json" if name.endswith(".json") else "application/octet-stream"
        range_header = self.headers.get("Range")
        if range_header is None or self.command == "HEAD":
            self._send(200, data, content_type, headers)
            return
        size = len(data)
        m = _RANGE.match(range_header.strip())
        if m is None or (not m[1] and not m[2]):
            self._send(200, data, content_type, headers)  # unsupported form: whole file
            return
        if not m[1]:  # bytes=-n: the last n bytes
            start, end = max(size - int(m[2]), 0), size - 1
        else:
            start = int(m[1])
            end = min(int(m[2]), size - 1) if m[2] else size - 1
        if start >= size or start > end:
            headers["Content-Range"] = f"bytes */{size}"
            raise HubError(416, "Requested Range Not Satisfiable", **headers)
        headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        self._send(206, data[start : end + 1], content_type, headers)


# Tiny repos to serve


N_ROWS = 20


def build_tiny_gpt2(folder: Path) -> Path:
    """A 2-layer GPT-2 (random weights) and a WordLevel tokenizer, both built offline."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import AutoModelForCausalLM, GPT2Config, PreTrainedTokenizerFast

    config = GPT2Config(
        n_layer=2,
        n_embd=32,
        n_head=4,
        n_positions=64,
        vocab_size=97,
        bos_token_id=1,
        eos_token_id=1,
    )
    AutoModelForCausalLM.from_config(config).save_pretrained(folder)
    vocab = {"[UNK]": 0, "<|endoftext|>": 1} | {f"w{i}": i + 2 for i in range(95)}
    core = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    core.pre_tokenizer = pre_tokenizers.Whitespace()
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=core, unk_token="[UNK]", eos_token="<|endoftext|>"
    )
    tokenizer.save_pretrained(folder)
    return folder


def rows(prefix: str, n: int = N_ROWS) -> list[dict]:
    return [{"text": f"{prefix} document {i}", "idx": i} for i in range(n)]


def build_parquet_dataset(folder: Path) -> Path:
    """A dataset repo the way ``push_to_hub`` lays it out (no README: split from file names)."""
    (folder / "data").mkdir(parents=True)
    pq.write_table(
        pa.Table.from_pylist(rows("train")), folder / "data/train-00000-of-00001.parquet"
    )
    pq.write_table(
        pa.Table.from_pylist(rows("test", 5)), folder / "data/test-00000-of-00001.parquet"
    )
    return folder


def build_config_dataset(folder: Path) -> Path:
    """Two configs of jsonl files declared in the README YAML: ``en`` and ``fr``.

    (``datasets`` picks one file format per repo, so configs cannot mix parquet and jsonl.)
    """
    for lang, n in (("en", N_ROWS), ("fr", 7)):
        (folder / lang).mkdir(parents=True)
        lines = "".join(json.dumps(r) + "\n" for r in rows(lang, n))
        (folder / f"{lang}/train.jsonl").write_text(lines)
    (folder / "README.md").write_text(
        "---\nconfigs:\n"
        "- config_name: en\n  data_files:\n  - split: train\n    path: en/*.jsonl\n"
        "  default: true\n"
        "- config_name: fr\n  data_files:\n  - split: train\n    path: fr/*.jsonl\n"
        "---\n# Two configs\n"
    )
    return folder


# Pointing the clients at the server


def redirect_clients(monkeypatch: pytest.MonkeyPatch, endpoint: str, home: Path) -> None:
    """Point huggingface_hub, datasets and transformers (already imported) at ``endpoint``,
    online, with every cache and token file under ``home``; undone by ``monkeypatch``."""
    import datasets.config
    import huggingface_hub.constants as constants
    from huggingface_hub import HfFileSystem

    home.mkdir(parents=True, exist_ok=True)
    hub_cache = home / "hub"
    datasets_cache = home / "datasets"
    env = {
        "HF_ENDPOINT": endpoint,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(hub_cache),
        "HF_DATASETS_CACHE": str(datasets_cache),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HUB_DISABLE_PROGRESS_BARS": "1",
        "HF_UPDATE_DOWNLOAD_COUNTS": "0",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    for key in (
        "HF_HUB_OFFLINE",
        "TRANSFORMERS_OFFLINE",
        "HF_DATASETS_OFFLINE",
        "HF_TOKEN",
        "HUGGING_FACE_HUB_TOKEN",
        "HF_OIDC_RESOURCE",
        "HUGGINGFACE_HUB_CACHE",
        "TRANSFORMERS_CACHE",
    ):
        monkeypatch.delenv(key, raising=False)

    patches: dict[str, Any] = {
        "ENDPOINT": endpoint,
        "HUGGINGFACE_CO_URL_TEMPLATE": endpoint + "/{repo_id}/resolve/{revision}/{filename}",
        "HF_HUB_OFFLINE": False,
        "HF_HOME": str(home),
        "HF_HUB_CACHE": str(hub_cache),
        "HUGGINGFACE_HUB_CACHE": str(hub_cache),
        "HF_ASSETS_CACHE": str(home / "assets"),
        "HF_XET_CACHE": str(home / "xet"),
        "HF_TOKEN_PATH": str(home / "token"),
        "HF_STORED_TOKENS_PATH": str(home / "stored_tokens"),
        "HF_HUB_DISABLE_TELEMETRY": True,
    }
    for name, value in patches.items():
        monkeypatch.setattr(constants, name, value)

    dpatches: dict[str, Any] = {
        "HF_ENDPOINT": endpoint,
        "HUB_DATASETS_URL": endpoint + "/datasets/{repo_id}/resolve/{revision}/{path}",
        "HF_HUB_OFFLINE": False,
        "HF_DATASETS_OFFLINE": False,
        "HF_UPDATE_DOWNLOAD_COUNTS": False,
        "HF_CACHE_HOME": str(home),
        "HF_DATASETS_CACHE": datasets_cache,
        "HF_MODULES_CACHE": home / "modules",
        "DOWNLOADED_DATASETS_PATH": datasets_cache / "downloads",
        "EXTRACTED_DATASETS_PATH": datasets_cache / "downloads" / "extracted",
    }
    for name, value in dpatches.items():
        monkeypatch.setattr(datasets.config, name, value)

    # HfFileSystem instances are cached by constructor arguments and keep listings (dircache).
    HfFileSystem.clear_instance_cache()


@pytest.fixture
def fake_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[FakeHub]:
    """A running :class:`FakeHub`; huggingface_hub/datasets point at it for the test's duration,
    online, with caches and the token file under ``tmp_path / "hf_home"`` and no ``HF_TOKEN``."""
    from huggingface_hub import HfFileSystem

    with FakeHub() as hub:
        redirect_clients(monkeypatch, hub.endpoint, tmp_path / "hf_home")
        yield hub
        HfFileSystem.clear_instance_cache()
