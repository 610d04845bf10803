"""What the API does before it reports that it started."""

from fastapi.testclient import TestClient

from arqium.api.app import create_app
from arqium.infra.embeddings import model_loaded, shared_embedder


def test_the_embedding_model_is_loaded_before_the_api_serves_its_first_search(settings):
    shared_embedder.cache_clear()
    with TestClient(create_app(settings)):
        assert model_loaded()
