"""/docs works offline: Swagger UI from the app's own static files, nothing from another host."""

from __future__ import annotations

import re

from tests.conftest import ApiClient


def test_docs_load_nothing_from_another_host(api: ApiClient) -> None:
    page = api.http.get("/docs")
    assert page.status_code == 200
    refs = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert len(refs) >= 3, page.text
    assert all(r.startswith("/") and not r.startswith("//") for r in refs), refs
    assert not re.search(r"https?://", page.text), page.text  # no CDN, no validator badge
    # The files the page names are served here (scripts/web-assets.sh fetched them).
    for ref in refs:
        assert api.http.get(ref).status_code == 200, ref
    assert api.http.get("/redoc").status_code == 404  # no page left pointing at a CDN
    assert "/docs" not in api.http.get("/openapi.json").json()["paths"]
