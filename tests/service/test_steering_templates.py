"""Steering prompt templates and presets through the service: a template with two values is one
job with one result per value (the values recorded beside each prompt); a bad template is one
422 line before any job; a preset is a template of kind ``steering``, edited in place with the
same limits as create."""

from __future__ import annotations

from typing import Any

import pytest

from mistudio.api.routers.templates import MAX_CONFIG_BYTES
from tests.service.conftest import Studio
from tests.service.tiny_artifacts import API, ensure_extraction

pytestmark = pytest.mark.service


def _body(ext: dict[str, Any], **kw: Any) -> dict[str, Any]:
    return {
        "features": [{"sae_id": ext["sae_id"], "index": 0, "mode": "add", "strength": 4.0}],
        "generation": {"max_new_tokens": 4, "temperature": 0.0},
        "similarity": "jaccard",
        **kw,
    }


def test_prompt_template_is_one_job_with_a_result_per_value(studio: Studio) -> None:
    c = studio.client
    ext = ensure_extraction(studio)
    template = {"text": "w5 {word} w7", "variables": {"word": ["w40", "w41"]}}
    r = c.post(f"{API}/steering", json=_body(ext, prompt_template=template))
    assert r.status_code == 202, r.text
    run = r.json()
    assert run["config"]["prompts"] == []
    assert run["config"]["prompt_template"]["variables"] == {"word": ["w40", "w41"]}
    job = studio.completed(run["job_id"])
    assert job["result"]["n_prompts"] == 2
    prompts = c.get(f"{API}/steering/{run['id']}").json()["result"]["prompts"]
    assert [p["prompt"] for p in prompts] == ["w5 w40 w7", "w5 w41 w7"]
    assert [p["variables"] for p in prompts] == [{"word": "w40"}, {"word": "w41"}]
    assert all(len(p["steered"]) == 1 for p in prompts)


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ({"prompt_template": {"text": "about {topic}", "variables": {}}}, "{topic} has no values"),
        (
            {"prompt_template": {"text": "about {topic}", "variables": {"topic": []}}},
            "{topic} has an empty list of values",
        ),
        (
            {
                "prompt_template": {
                    "text": "about {topic}",
                    "variables": {"topic": ["a"], "x": ["b"]},
                }
            },
            "values given for {x}, which the text does not use",
        ),
        (
            {"prompt_template": {"text": "{a} {b}", "variables": {"a": ["1"] * 8, "b": ["2"] * 9}}},
            "makes 8 x 9 = 72 prompts; a run takes at most 64",
        ),
        (
            {
                "prompts": ["p"] * 60,
                "prompt_template": {"text": "{a}", "variables": {"a": ["1"] * 5}},
            },
            "60 prompts and 5 from the template make 65",
        ),
        ({}, "give at least one prompt (or a prompt template)"),
    ],
)
def test_bad_prompt_template_is_one_line(studio: Studio, extra: dict, message: str) -> None:
    ext = ensure_extraction(studio)
    before = len(studio.client.get(f"{API}/steering").json()["items"])
    r = studio.client.post(f"{API}/steering", json=_body(ext, **extra))
    assert r.status_code == 422, r.text
    detail = r.json()["detail"]
    assert message in detail and "\n" not in detail and "Traceback" not in detail
    assert len(studio.client.get(f"{API}/steering").json()["items"]) == before  # no run queued


def test_steering_preset_is_a_template_edited_in_place(studio: Studio) -> None:
    c = studio.client
    preset = {
        "kind": "steering",
        "name": "def push",
        "config": {
            "form": {"picked": [{"sae_id": 1, "index": 5, "mode": "clamp", "strength": 2}]},
            "request": {"features": [{"sae_id": 1, "index": 5, "mode": "clamp", "strength": 2}]},
        },
    }
    r = c.post(f"{API}/templates", json=preset)
    assert r.status_code == 201, r.text
    t = r.json()
    listed = c.get(f"{API}/templates", params={"kind": "steering"}).json()["items"]
    assert [x["name"] for x in listed] == ["def push"]
    assert listed[0]["config"] == preset["config"]

    # Edit in place: name, description and config change, the id and the use count stay.
    c.post(f"{API}/templates/{t['id']}/use")
    new_config = {"form": {"picked": [], "sweep": "0, 2"}, "request": {"strengths": [0, 2]}}
    r = c.patch(
        f"{API}/templates/{t['id']}",
        json={"name": "def sweep", "description": "two strengths", "config": new_config},
    )
    assert r.status_code == 200, r.text
    edited = r.json()
    assert edited["id"] == t["id"] and edited["usage_count"] == 1
    assert (edited["name"], edited["description"], edited["config"]) == (
        "def sweep",
        "two strengths",
        new_config,
    )

    # The limits of create hold for an edit, each refused in one line, nothing changed.
    c.post(f"{API}/templates", json={**preset, "name": "other"})
    big = {"blob": "x" * MAX_CONFIG_BYTES}
    for change, status, words in [
        ({"name": "other"}, 409, "a steering template named 'other' exists"),
        ({"name": ""}, 422, "name"),
        ({"name": None}, 422, "name cannot be null"),
        ({"config": big}, 422, "the limit is 262,144 bytes"),
        ({"config": "not an object"}, 422, "config"),
    ]:
        r = c.patch(f"{API}/templates/{t['id']}", json=change)
        assert r.status_code == status, (change, r.text)
        assert words in r.json()["detail"] and "\n" not in r.json()["detail"]
    assert c.get(f"{API}/templates/{t['id']}").json()["config"] == new_config
    assert c.patch(f"{API}/templates/999999", json={"name": "x"}).status_code == 404
