"""SAEs from the Hub, SAELens releases and local folders (issue 16 points 2-5), against the fake
Hub of ``tests/fake_hub.py``, which speaks the real wire format to the real huggingface_hub:
browsing a repo, ``allow_patterns``, gated repos with and without a token, search by library
tag, release names from the shipped registry, model and hook linking, export round trips."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
import torch

from mistudio.core.sae import SAEConfig, build_sae, load_sae, save_sae
from mistudio.core.sae_export import export_members, is_native, iter_zip, write_saelens_folder
from mistudio.core.sae_import import (
    ModelCandidate,
    SAEImportConfig,
    SAEImportPlan,
    browse,
    fetch_planned,
    hook_for_model,
    match_model,
    parse_source,
    plan_for,
    read_planned,
    release_registry,
    search_repos,
)
from mistudio.core.sae_import import releases as releases_mod
from mistudio.errors import InvalidInputError, NotFoundError
from tests.sae_repos import (
    build_multi_sae_repo,
    fixture,
    reference,
    unknown_format_folder,
)

if TYPE_CHECKING:
    from tests.fake_hub import FakeHub

pytest_plugins = ["tests.fake_hub"]

REPO = "org/saes"
TOL = 1e-5


@pytest.fixture
def repo(fake_hub: FakeHub, tmp_path: Path) -> str:
    fake_hub.add_repo(REPO, build_multi_sae_repo(tmp_path / "repo"), library="saelens")
    return REPO


def _plan(source: str, tmp_path: Path, token: str | None = None, **kw: object) -> SAEImportPlan:
    return plan_for(SAEImportConfig(source=source, **kw), token, tmp_path / "c")  # type: ignore[arg-type]


def _resolved_files(hub: FakeHub) -> set[str]:
    """Repo paths whose contents were requested (HEAD or GET of a resolve URL)."""
    out = set()
    for _, path, status, _ in hub.requests:
        if "/resolve/" in path and status < 400:
            out.add(path.split("/resolve/", 1)[1].split("/", 1)[1])
    return out


def test_browse_finds_each_sae_with_format_hook_width_and_size(
    repo: str, fake_hub: FakeHub, tmp_path: Path
) -> None:
    found = browse(repo, cache_dir=tmp_path / "c")
    assert found.repo_id == repo and found.total == 4 and len(found.sha) == 40
    by_path = {e.path: e for e in found.entries}
    assert {p: e.format for p, e in by_path.items()} == {
        "blocks.3.hook_resid_post": "saelens",
        "blocks.4.hook_resid_post": "saelens",
        "dl/trainer_0": "dictionary_learning",
        "sparsify/layers.3": "sparsify",
    }
    topk = by_path["blocks.4.hook_resid_post"]
    assert (topk.hook_name, topk.layer, topk.d_in, topk.d_sae, topk.k) == (
        "blocks.4.hook_resid_post",
        4,
        16,
        32,
        4,
    )
    assert topk.config_read and topk.architecture == "topk"
    folder = fixture("saelens/topk")
    assert topk.size_bytes == sum(p.stat().st_size for p in folder.iterdir())
    assert by_path["sparsify/layers.3"].d_sae == 40  # from its cfg.json, not a folder name
    assert by_path["dl/trainer_0"].model_name == "EleutherAI/pythia-70m-deduped"
    # Nothing but configs was fetched: no weights moved while browsing.
    fetched = _resolved_files(fake_hub)
    assert fetched and all(p.endswith(".json") for p in fetched), fetched


def test_browse_reads_only_small_configs(repo: str, fake_hub: FakeHub, tmp_path: Path) -> None:
    found = browse(repo, cache_dir=tmp_path / "c", limit=2, read_configs=1)
    assert found.total == 4 and [e.path for e in found.entries] == [
        "blocks.3.hook_resid_post",
        "blocks.4.hook_resid_post",
    ]
    assert [e.config_read for e in found.entries] == [True, False]
    assert _resolved_files(fake_hub) == {"blocks.3.hook_resid_post/cfg.json"}
    page2 = browse(repo, cache_dir=tmp_path / "c", offset=2, limit=2, read_configs=0)
    assert [e.path for e in page2.entries] == ["dl/trainer_0", "sparsify/layers.3"]
    under = browse(f"{repo}/sparsify", cache_dir=tmp_path / "c", read_configs=0)
    assert [e.path for e in under.entries] == ["sparsify/layers.3"]
    # Facts from names alone: sparsify's layers.N is the output of block N.
    assert under.entries[0].hook_name == "blocks.3.hook_resid_post"


def test_allow_patterns_download_one_sae_of_many(
    repo: str, fake_hub: FakeHub, tmp_path: Path
) -> None:
    plan = _plan(repo, tmp_path, allow_patterns=["blocks.4.hook_resid_post/*"])
    assert (plan.kind, plan.folder, plan.format, plan.n_files) == (
        "hub",
        "blocks.4.hook_resid_post",
        "saelens",
        3,
    )
    assert plan.facts["d_in"] == 16 and plan.facts["hook_name"] == "blocks.4.hook_resid_post"
    fake_hub.requests.clear()
    seen: list[tuple[float, float | None]] = []
    folder = fetch_planned(plan, None, tmp_path / "c", lambda s, t, **m: seen.append((s, t)))
    downloaded = _resolved_files(fake_hub)
    assert downloaded and all(p.startswith("blocks.4.hook_resid_post/") for p in downloaded)
    assert seen[-1] == (plan.total_bytes, plan.total_bytes)  # progress in bytes, to the end
    imported = read_planned(plan, folder)
    ref = reference("saelens/topk")
    assert torch.allclose(imported.sae(ref["x"]).x_hat, ref["forward"], atol=TOL)
    assert set(imported.files) == {"cfg.json", "sae_weights.safetensors"}
    # The default patterns of a Hub path are its folder's files.
    plan2 = _plan(f"{repo}/dl/trainer_0", tmp_path)
    assert plan2.allow_patterns == ["dl/trainer_0/*"] and plan2.format == "dictionary_learning"


def test_bad_sources_are_one_line_before_any_download(
    repo: str, fake_hub: FakeHub, tmp_path: Path
) -> None:
    cases: list[tuple[str, dict[str, object], type[Exception], str]] = [
        ("org/nope/x", {}, NotFoundError, "not found"),
        (repo, {"allow_patterns": ["layer_99/*"]}, InvalidInputError, "match no file"),
        (f"{repo}/missing", {}, NotFoundError, "missing"),
        (repo, {"revision": "v9"}, NotFoundError, "revision 'v9'"),
        (repo, {}, InvalidInputError, "4 SAEs in subfolders"),
        (repo, {"format": "nonsense"}, InvalidInputError, "unknown SAE format"),
        ("not a source", {}, InvalidInputError, "not a Hub path"),
    ]
    fake_hub.add_repo("org/junk", unknown_format_folder(tmp_path / "junk" / "x").parent)
    cases.append(("org/junk/x", {}, InvalidInputError, "no known SAE format in org/junk/x"))
    for source, kw, error, text in cases:
        with pytest.raises(error) as err:
            _plan(source, tmp_path, **kw)
        message = str(err.value)
        assert text in message and "\n" not in message, (source, message)
        assert str(tmp_path) not in message  # never the temporary skeleton's path
    assert not any(p.endswith(".safetensors") for p in _resolved_files(fake_hub))


def test_gated_repo_needs_a_token_with_access(fake_hub: FakeHub, tmp_path: Path) -> None:
    fake_hub.add_repo("org/gated", build_multi_sae_repo(tmp_path / "g"), gated=True)
    source = "org/gated/blocks.3.hook_resid_post"
    with pytest.raises(InvalidInputError, match=r"gated.*no token was given"):
        _plan(source, tmp_path)
    with pytest.raises(InvalidInputError, match=r"gated.*the token given has no access"):
        _plan(source, tmp_path, token=fake_hub.no_access_token)
    # Browsing a gated repo works without a token (listings are public); configs say why not.
    found = browse("org/gated", cache_dir=tmp_path / "c")
    assert found.gated and found.total == 4 and "gated" in (found.config_error or "")
    token = fake_hub.valid_token
    plan = plan_for(SAEImportConfig(source=source), token, tmp_path / "c")
    assert plan.facts["d_in"] == 16  # its config was read with the token
    folder = fetch_planned(plan, token, tmp_path / "c")
    ref = reference("saelens/standard")
    assert torch.allclose(read_planned(plan, folder).sae(ref["x"]).x_hat, ref["forward"], atol=TOL)


def test_search_by_library_tag_and_text(fake_hub: FakeHub, tmp_path: Path) -> None:
    folder = build_multi_sae_repo(tmp_path / "r")
    fake_hub.add_repo("org/saes-small", folder, library="saelens", downloads=10)
    fake_hub.add_repo("org/saes-big", folder, library="saelens", downloads=50)
    fake_hub.add_repo("org/model", folder)  # library: transformers
    assert [r.repo_id for r in search_repos()] == ["org/saes-big", "org/saes-small"]
    assert [r.repo_id for r in search_repos("small")] == ["org/saes-small"]
    assert search_repos("model") == []
    assert [r.repo_id for r in search_repos("model", library=None)] == ["org/model"]
    found = search_repos(limit=1)
    assert [(r.repo_id, r.downloads, "saelens" in r.tags) for r in found] == [
        ("org/saes-big", 50, True)
    ]


def test_release_names_resolve_from_the_shipped_registry() -> None:
    assert releases_mod.installed_yaml() is None  # sae-lens is not a product dependency
    registry = release_registry()
    assert registry.source.startswith("registry shipped with miStudio")
    assert registry.sae_lens_version == "6.54.12"
    assert len(registry) >= 170 and registry.n_saes >= 13_000
    size = releases_mod.SHIPPED_REGISTRY.stat().st_size
    assert size < releases_mod.MAX_REGISTRY_BYTES
    source = parse_source("gemma-scope-2b-pt-res-canonical/layer_12/width_16k/canonical")
    assert (source.kind, source.repo_id, source.path) == (
        "release",
        "google/gemma-scope-2b-pt-res",
        "layer_12/width_16k/average_l0_82",
    )
    assert source.release is not None and source.release.model == "gemma-2-2b"
    found = [r.name for r in registry.search("gemma scope 2b", limit=50)]
    assert "gemma-scope-2b-pt-res-canonical" in found
    assert not [n for n in found if "12b" in n]  # words start words: 2b is not 12b
    with pytest.raises(NotFoundError, match="has no SAE 'layer_99"):
        parse_source("gemma-scope-2b-pt-res-canonical/layer_99/width_16k/canonical")
    with pytest.raises(InvalidInputError, match="name one"):
        parse_source("gpt2-small-res-jb")


def test_a_release_imports_from_its_repo(fake_hub: FakeHub, tmp_path: Path) -> None:
    folder = tmp_path / "gpt2" / "blocks.6.hook_resid_pre"
    import shutil

    shutil.copytree(fixture("saelens/standard"), folder)
    fake_hub.add_repo("jbloom/GPT2-Small-SAEs-Reformatted", folder.parent, library="saelens")
    plan = _plan("gpt2-small-res-jb/blocks.6.hook_resid_pre", tmp_path)
    assert (plan.kind, plan.release, plan.folder) == (
        "release",
        "gpt2-small-res-jb/blocks.6.hook_resid_pre",
        "blocks.6.hook_resid_pre",
    )
    assert plan.facts["l0"] == 51.0 and plan.facts["model_name"] == "gpt2-small"
    imported = read_planned(plan, fetch_planned(plan, None, tmp_path / "c"))
    ref = reference("saelens/standard")
    assert torch.allclose(imported.sae(ref["x"]).x_hat, ref["forward"], atol=TOL)
    # Browsing the release lists its 13 SAEs by id; the one served is found and described.
    found = browse("gpt2-small-res-jb", cache_dir=tmp_path / "c")
    assert found.release == "gpt2-small-res-jb" and found.total == 13
    served = [e for e in found.entries if e.format is not None]
    assert [(e.path, e.release_sae, e.l0) for e in served] == [
        ("blocks.6.hook_resid_pre", "gpt2-small-res-jb/blocks.6.hook_resid_pre", 51.0)
    ]


def test_installed_registry_and_its_norm_scaling_factor(
    fake_hub: FakeHub, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """An installed sae-lens' YAML wins over the shipped copy; a release's
    ``norm_scaling_factor`` is folded into an ``expected_average_only_in`` SAE."""
    case = "saelens/norm_expected_average_only_in"
    ref = reference(case)
    package = tmp_path / "site-packages" / "sae_lens"
    package.mkdir(parents=True)
    (package.parent / "sae_lens-9.9.9.dist-info").mkdir()
    yaml_path = package / "pretrained_saes.yaml"
    yaml_path.write_text(
        "tiny-release:\n  repo_id: org/scaled\n  model: tiny-model\n  conversion_func: null\n"
        "  saes:\n  - id: only\n    path: sae\n    l0: 7\n"
        f"    norm_scaling_factor: {float(ref['norm_scaling_factor'])}\n"
    )
    monkeypatch.setattr(releases_mod, "installed_yaml", lambda: yaml_path)
    import shutil

    shutil.copytree(fixture(case), tmp_path / "scaled" / "sae")
    fake_hub.add_repo("org/scaled", tmp_path / "scaled")
    registry = release_registry()
    assert registry.source == "sae-lens 9.9.9 (installed)"
    plan = _plan("tiny-release/only", tmp_path)
    assert plan.norm_scaling_factor == pytest.approx(float(ref["norm_scaling_factor"]))
    imported = read_planned(plan, fetch_planned(plan, None, tmp_path / "c"))
    assert torch.allclose(imported.sae(ref["x"]).x_hat, ref["forward"], atol=TOL)
    # Written to a shipped copy from that YAML, with its version recorded.
    written = releases_mod.write_registry(yaml_path, tmp_path / "reg.json.gz")
    assert (written.n_releases, written.n_saes, written.sae_lens_version) == (1, 1, "9.9.9")
    releases, version = releases_mod.read_shipped(tmp_path / "reg.json.gz")
    assert version == "9.9.9" and releases["tiny-release"]["saes"][0]["l0"] == 7


def test_registry_update_trims_fields_to_stay_small(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    yaml_path = tmp_path / "pretrained_saes.yaml"
    saes = "".join(
        f"  - id: s{i}\n    path: p{i}\n    neuronpedia: m/{i}-x\n    variance_explained: 0.{i}\n"
        for i in range(200)
    )
    yaml_path.write_text(f"r:\n  repo_id: o/r\n  links: {{model: x}}\n  saes:\n{saes}")
    full = releases_mod.write_registry(yaml_path, tmp_path / "a.gz", "1.0")
    assert full.dropped == []
    monkeypatch.setattr(releases_mod, "MAX_REGISTRY_BYTES", full.size_bytes - 1)
    trimmed = releases_mod.write_registry(yaml_path, tmp_path / "b.gz", "1.0")
    assert trimmed.dropped and trimmed.size_bytes <= full.size_bytes - 1
    monkeypatch.setattr(releases_mod, "MAX_REGISTRY_BYTES", 10)
    with pytest.raises(InvalidInputError, match="more than the"):
        releases_mod.write_registry(yaml_path, tmp_path / "c.gz", "1.0")
    (tmp_path / "bad.yaml").write_text("r:\n  repo_id: o/r\n")
    with pytest.raises(InvalidInputError, match="no list of saes"):
        releases_mod.write_registry(tmp_path / "bad.yaml", tmp_path / "d.gz")


def test_sources_of_every_kind() -> None:
    assert parse_source("./saes/x").kind == "local"
    assert parse_source("~/x").kind == "local"
    hub = parse_source("hf://org/name/a/b")
    assert (hub.kind, hub.repo_id, hub.path, hub.origin) == (
        "hub",
        "org/name",
        "a/b",
        "org/name/a/b",
    )
    assert parse_source("https://huggingface.co/org/name").path == ""
    for bad in ("org", "org/name/../x", "datasets/x/y"):
        with pytest.raises(InvalidInputError):
            parse_source(bad)


def test_models_match_by_any_spelling_and_hooks_translate() -> None:
    models = [
        ModelCandidate(1, ("tiny", "/data/tiny-llama", "")),
        ModelCandidate(2, ("SmolLM2", "smollm2-135m", "SmolLM2-135M-Instruct")),
        ModelCandidate(3, ("gpt2", "openai-community/gpt2", "gpt2")),
    ]
    assert match_model("HuggingFaceTB/SmolLM2-135M-Instruct", models) == 2
    assert match_model("gpt2-small", models) == 3  # TransformerLens' name for gpt2
    assert match_model("gemma-2-2b", models) is None
    assert match_model(None, models) is None
    tl = ["blocks.0.hook_resid_pre", "blocks.0.hook_resid_post"]
    hf = ["model.layers.0.input", "model.layers.0"]
    both = ("blocks.0.hook_resid_post", "model.layers.0", True)
    assert tuple(vars(hook_for_model("blocks.0.hook_resid_post", None, tl, hf)).values()) == both
    assert tuple(vars(hook_for_model(None, "model.layers.0", tl, hf)).values()) == both
    assert tuple(vars(hook_for_model("model.layers.0", None, tl, hf)).values()) == both
    unknown = hook_for_model("blocks.0.attn.hook_z", None, tl, hf)
    assert (unknown.name, unknown.known) == ("blocks.0.attn.hook_z", False)


def _unzip(data: bytes, into: Path) -> Path:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        assert archive.testzip() is None
        archive.extractall(into)
    (folder,) = [p for p in into.iterdir() if p.is_dir()]
    return folder


def test_export_zip_round_trip_of_a_native_folder(tmp_path: Path) -> None:
    sae = build_sae(SAEConfig(architecture="jumprelu", d_in=8, d_sae=24))
    with torch.no_grad():
        sae.threshold.uniform_(0.0, 0.2)
        sae.b_enc.normal_()
    folder = save_sae(sae, tmp_path / "sae", {"hook_name": "blocks.1.hook_resid_post"})
    assert is_native(folder)
    members = export_members(folder, "out/", {"hook_name": "blocks.2.hook_resid_post"})
    data = b"".join(iter_zip(members, chunk=100))  # many small pieces
    back = _unzip(data, tmp_path / "unzipped")
    assert sorted(p.name for p in back.iterdir()) == ["cfg.json", "sae_weights.safetensors"]
    cfg = json.loads((back / "cfg.json").read_text())
    assert cfg["metadata"]["hook_name"] == "blocks.2.hook_resid_post"  # the row's, merged
    x = torch.randn(32, 8) * 3
    assert torch.equal(load_sae(back)(x).x_hat, sae(x).x_hat)


def test_export_converts_other_saelens_versions(tmp_path: Path) -> None:
    case = "saelens/pre6_topk"
    assert not is_native(fixture(case))
    out = write_saelens_folder(fixture(case), tmp_path / "out")
    cfg = json.loads((out / "cfg.json").read_text())
    assert cfg["metadata"]["sae_lens_version"] == "6.0.0"
    ref = reference(case)
    assert torch.allclose(load_sae(out)(ref["x"]).x_hat, ref["forward"], atol=TOL)
