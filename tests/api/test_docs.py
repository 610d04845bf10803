"""The API docs work on a machine with no internet: every script, style sheet and icon
of /docs and /redoc is served by the API itself."""

import re

import pytest

ASSET = re.compile(r'<(?:script|link)[^>]*?(?:src|href)="([^"]+)"')


@pytest.mark.parametrize("page", ["/docs", "/redoc"])
def test_the_docs_page_loads_only_assets_the_api_serves(client, page):
    html = client.get(page)
    assert html.status_code == 200 and html.headers["content-type"].startswith("text/html")
    assets = ASSET.findall(html.text)
    assert assets and [url for url in assets if not url.startswith("/docs-assets/")] == []
    for url in assets:
        served = client.get(url)
        assert served.status_code == 200 and len(served.content) > 1000, url

