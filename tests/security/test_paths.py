"""Local-file imports are confined to the import roots (issue 13, point 3).

The default roots are ``MISTUDIO_HOME/imports`` and ``MISTUDIO_HOME``, not the user's home folder;
every path is resolved (symlinks followed) before the check; a refused path gets one answer
whether it exists, is a folder or a file (no existence oracle); a symlink inside an imported
folder that leads outside the roots is never read; and read errors never quote file contents.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.security.conftest import MakeStudio
from tests.service.conftest import Studio

API = "/api/v1"
REFUSED = ["/etc", "/etc/passwd", "/no/such", "/etc/../etc/passwd", "~root/.ssh/id_rsa"]


def _import(c: object, endpoint: str, path: str) -> object:
    body = {
        "datasets": {"source": {"kind": "local", "path": path}},
        "saes/import": {"path": path},
        "models": {"source": path},
    }[endpoint]
    return c.post(f"{API}/{endpoint}", json=body)  # type: ignore[attr-defined]


@pytest.mark.parametrize("endpoint", ["datasets", "saes/import", "models"])
def test_refused_paths_get_one_answer(make_studio: MakeStudio, endpoint: str) -> None:
    c = make_studio()
    answers = set()
    for path in REFUSED:
        r = _import(c, endpoint, path)
        assert r.status_code == 403, (path, r.status_code, r.text)
        answers.add(r.json()["detail"].replace(path, "<path>"))
    assert len(answers) == 1, answers


def test_default_roots_exclude_the_home_folder(
    make_studio: MakeStudio, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The probe's fake gcloud credentials in ``~`` are refused; ``MISTUDIO_HOME/imports``
    (made at start-up) is where files go to be imported."""
    user_home = tmp_path / "user"
    creds = user_home / ".config" / "gcloud" / "application_default_credentials.json"
    creds.parent.mkdir(parents=True)
    creds.write_text(json.dumps({"client_id": "x", "refresh_token": "1//secret-refresh"}))
    monkeypatch.setenv("HOME", str(user_home))
    c = make_studio(MISTUDIO_IMPORT_ROOTS="")
    from mistudio.settings import get_settings

    settings = get_settings()
    assert settings.import_root_paths == [settings.home / "imports", settings.home]
    assert (settings.home / "imports").is_dir()
    r = _import(c, "datasets", str(creds))
    assert r.status_code == 403, r.text
    assert "refresh" not in r.text
    corpus = settings.home / "imports" / "notes.jsonl"
    corpus.write_text('{"text": "an importable note"}\n')
    r = _import(c, "datasets", str(corpus))
    assert r.status_code == 202, r.text
    r = _import(c, "datasets", str(settings.home / "imports" / "missing.jsonl"))
    assert r.status_code == 404, r.text


def test_symlink_leading_out_is_refused(make_studio: MakeStudio, tmp_path: Path) -> None:
    """A link inside the roots to a file outside them is judged by where it leads."""
    c = make_studio(MISTUDIO_IMPORT_ROOTS=str(tmp_path / "roots"))
    (tmp_path / "roots").mkdir()
    secret = tmp_path / "outside.txt"
    secret.write_text("TOP-SECRET-LINE")
    link = tmp_path / "roots" / "innocent.txt"
    link.symlink_to(secret)
    r = _import(c, "datasets", str(link))
    assert r.status_code == 403, r.text
    assert r.json()["detail"] == _import(c, "datasets", "/etc").json()["detail"].replace(
        "/etc", str(link)
    )


@pytest.mark.service
def test_folder_import_skips_symlinks_leading_out(studio: Studio, tmp_path: Path) -> None:
    """A folder import (run by the worker) reads only files that resolve under the roots: the
    probe's link to ``/etc/os-release`` inside an imported folder is never read."""
    outside = tmp_path / "outside"  # not under the studio's import roots
    outside.mkdir()
    (outside / "os-release.txt").write_text("TOP-SECRET-LINE")
    (outside / "more").mkdir()
    (outside / "more" / "deep.txt").write_text("TOP-SECRET-DEEP")
    folder = studio.data_dir / f"linked-{tmp_path.name}"
    folder.mkdir()
    (folder / "inside.txt").write_text("an inside document")
    (folder / "os-release.txt").symlink_to(outside / "os-release.txt")
    (folder / "more").symlink_to(outside / "more", target_is_directory=True)
    c = studio.client
    r = _import(c, "datasets", str(folder))
    assert r.status_code == 202, r.text
    studio.completed(r.json()["job_id"])
    dataset = c.get(f"{API}/datasets/{r.json()['id']}").json()
    assert dataset["n_documents"] == 1, dataset
    samples = c.get(f"{API}/datasets/{dataset['id']}/samples").json()
    assert [s["text"] for s in samples] == ["an inside document"]
    assert "TOP-SECRET" not in json.dumps(samples)


def test_read_errors_do_not_quote_the_file(tmp_path: Path) -> None:
    """pyarrow's messages quote the offending row; the import's error names only the file."""
    from mistudio.core.data.local_files import read_local
    from mistudio.errors import InvalidInputError

    bad_csv = tmp_path / "bad.csv"
    bad_csv.write_text("a,b\nSECRETVALUE,1,2,3\n")
    with pytest.raises(InvalidInputError) as caught:
        read_local(bad_csv)
    assert "SECRETVALUE" not in str(caught.value) and "bad.csv" in str(caught.value)
    mixed = tmp_path / "mixed.jsonl"
    mixed.write_text('{"text": "a", "n": 1}\n{"text": "b", "n": "SECRETVALUE"}\n')
    try:
        read_local(mixed)
    except InvalidInputError as exc:
        assert "SECRETVALUE" not in str(exc)


def test_core_confinement_checks_the_path_itself(tmp_path: Path) -> None:
    """``allowed_roots`` refuses a path outside the roots the same way whether it exists."""
    from mistudio.core.data.local_files import list_local_files
    from mistudio.errors import InvalidInputError

    roots = [tmp_path / "roots"]
    roots[0].mkdir()
    messages = set()
    for path in (Path("/etc/passwd"), Path("/no/such")):
        with pytest.raises(InvalidInputError) as caught:
            list_local_files(path, roots)
        messages.add(str(caught.value).replace(str(path), "<path>"))
    assert len(messages) == 1
