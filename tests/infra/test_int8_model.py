"""ARQIUM_EMBEDDING_PRECISION=int8: the packaged model with integer matrix products, made
once per data directory, embedding as the float model does within a small angle."""

import logging
import os
import shutil
import time
from pathlib import Path

import numpy as np
import onnx
import pytest
from pydantic import ValidationError

from arqium.domain.memory.application import MemoryDraft
from arqium.domain.memory.domainmodel import searchable_text
from arqium.infra.embeddings import FLOAT_MODEL, Embedder, EmbeddingModel, shared_embedder
from arqium.infra.query_embeddings import QueryEmbeddings, parse_vector
from arqium.infra.settings import Settings
from arqium.system.bootstrap import open_system
from arqium.workers.runner import WorkerGroup
from tests.conftest import SETUP

TEXTS = ["tea", "the deploy pipeline failed because the database migration timed out",
         "Gina: contemporary dance is so expressive " * 40,
         "Caroline: I went to the LGBTQ support group yesterday and it was so powerful."]


@pytest.fixture(scope="module")
def int8_folder(tmp_path_factory) -> Path:
    """A folder where the int8 model was made (a few seconds, once for these tests)."""
    folder = tmp_path_factory.mktemp("models")
    EmbeddingModel("int8", folder).path()
    return folder


def with_model(data_dir: Path, int8_folder: Path) -> None:
    """`data_dir` holding the int8 model already made, as after its first start."""
    (data_dir / "models").mkdir(parents=True, exist_ok=True)
    for made in int8_folder.iterdir():
        shutil.copy(made, data_dir / "models" / made.name)


def test_the_int8_model_multiplies_matrices_in_integers(int8_folder):
    graph = onnx.load(str(EmbeddingModel("int8", int8_folder).path())).graph
    integer = [n for n in graph.node
               if n.op_type in ("DynamicQuantizeMatMul", "MatMulInteger")]
    assert len(integer) == 36  # each layer's six weights: q, k, v, out, two feed-forward
    assert not [n for n in graph.node if n.op_type == "MatMul"
                and any(i.name == n.input[1] for i in graph.initializer)]


def test_the_int8_model_embeds_each_text_close_to_the_float_model_not_as_it(int8_folder):
    exact = np.array(shared_embedder(FLOAT_MODEL).embed(TEXTS))
    int8 = np.array(Embedder(model=EmbeddingModel("int8", int8_folder)).embed(TEXTS))
    similarity = int8 @ exact.T
    assert (np.diag(similarity) > 0.97).all(), np.diag(similarity)
    assert (similarity.argmax(axis=1) == np.arange(len(TEXTS))).all()
    assert np.abs(int8 - exact).max() > 1e-3  # else the float model answered


def test_the_int8_model_is_made_once_and_whole(int8_folder):
    [made] = int8_folder.iterdir()  # no leftover of its making
    before = made.stat().st_mtime_ns
    assert EmbeddingModel("int8", int8_folder).path() == made
    assert made.stat().st_mtime_ns == before
    assert made.name.startswith("minilm-int8-")


def test_making_the_int8_model_says_so_and_warns_of_nothing(tmp_path, caplog):
    caplog.set_level(logging.INFO)
    EmbeddingModel("int8", tmp_path).path()
    assert "making the int8 embedding model" in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING], caplog.text


def test_a_making_killed_midway_leaves_nothing_for_long(tmp_path, int8_folder):
    with_model(tmp_path, int8_folder)
    folder = tmp_path / "models"
    abandoned, at_work = folder / "making-abandoned", folder / "making-at-work"
    for work in (abandoned, at_work):
        work.mkdir()
        (work / "folded.onnx").write_bytes(b"half a model")
    hours_ago = time.time() - 2 * 3600
    os.utime(abandoned, (hours_ago, hours_ago))
    EmbeddingModel("int8", folder).path()
    assert not abandoned.exists()
    assert (at_work / "folded.onnx").exists()  # another process's making, perhaps


def test_an_unknown_precision_is_refused_at_start(monkeypatch):
    monkeypatch.setenv("ARQIUM_EMBEDDING_PRECISION", "fp16")
    with pytest.raises(ValidationError, match="embedding_precision"):
        Settings()


def test_a_query_cached_by_one_precision_is_not_the_others(system, int8_folder):
    connect = system.identity.recorder.datastore.get_connection
    int8 = EmbeddingModel("int8", int8_folder)
    exact = QueryEmbeddings(connect).vector("weekend hiking trip")
    quantized = QueryEmbeddings(connect, int8)
    assert quantized.vector("weekend hiking trip") == pytest.approx(
        Embedder(model=int8).embed(["weekend hiking trip"])[0], abs=1e-5)
    assert quantized.l2.hits == 0
    assert QueryEmbeddings(connect, int8).vector("weekend hiking trip") != exact


@pytest.fixture
def int8_settings(settings, int8_folder) -> Settings:
    """The test's settings with ARQIUM_EMBEDDING_PRECISION=int8, its model made."""
    with_model(settings.data_dir, int8_folder)
    return settings.model_copy(update={"embedding_precision": "int8"})


def test_memories_and_queries_are_embedded_by_the_precision_set(int8_settings, clock,
                                                                  int8_folder):
    int8 = Embedder(model=EmbeddingModel("int8", int8_folder))
    system = open_system(int8_settings, clock=clock)
    group = WorkerGroup(["memory_embeddings"], int8_settings, clock=clock)
    try:
        _, position = system.memory.upsert("u1", MemoryDraft(key="trip", content=TEXTS[3]),
                                           cause=SETUP)
        group.start()
        view = system.views["memory_embeddings"]
        view.wait("memory", position, timeout=30)
        [row] = view.query("SELECT embedding::text AS embedding FROM {table}")
        stored = np.array(parse_vector(row["embedding"]))
        text = searchable_text("trip", TEXTS[3], [])
        assert np.abs(stored - int8.embed([text])[0]).max() < 2e-3  # stored as halfvec
        assert np.abs(stored - shared_embedder(FLOAT_MODEL).embed([text])[0]).max() > 5e-3
        query = system.query_embeddings.vector("weekend hiking trip")
        assert query == pytest.approx(int8.embed(["weekend hiking trip"])[0], abs=1e-5)
    finally:
        group.stop()
        system.close()
    assert not group.failures, group.failures
    assert sorted(os.listdir(int8_settings.data_dir / "models")) == sorted(
        os.listdir(int8_folder))  # found made, not made again


def test_the_float_model_is_one_a_process_wherever_the_data_is(settings):
    elsewhere = settings.model_copy(update={"data_dir": settings.data_dir / "other"})
    assert shared_embedder(EmbeddingModel.of(settings)) is shared_embedder(
        EmbeddingModel.of(elsewhere)) is shared_embedder(FLOAT_MODEL)
