"""What the API does before it reports that it started."""

import gc

from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.infra.embeddings import model_loaded, shared_embedder


def test_the_embedding_model_is_loaded_before_the_api_serves_its_first_search(settings):
    shared_embedder.cache_clear()
    with TestClient(create_app(settings)):
        assert model_loaded()


def test_what_the_api_built_as_it_started_is_kept_out_of_the_collectors_walks(settings):
    gc.unfreeze()
    with TestClient(create_app(settings)) as client:
        frozen = gc.get_freeze_count()
        assert client.get("/api/v1/health").status_code == 200
    # The app, its routes and models were frozen: a full collection did not walk them.
    assert frozen > 50_000
    # Stopped, the app gives them back, so a process that starts many apps keeps none.
    assert gc.get_freeze_count() == 0
