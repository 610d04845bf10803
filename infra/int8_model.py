"""The embedding model computing in int8 (ARQIUM_EMBEDDING_PRECISION=int8).

The packaged all-MiniLM-L6-v2 stores its weights as int8 but computes in float: each
weight is cast back to float as the model loads. Here its matrix products are quantized
dynamically (int8 weights per output channel, activations quantized as they come), which
this processor's integer instructions run about twice as fast, after fusing its layer
norms and GELUs as onnxruntime's transformer optimizer does. Its vectors are not the
float model's (cosine ~0.99 with them), so the two are never mixed in one search.
"""

import logging
import os
import shutil
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

FILE_PREFIX = "minilm-int8"
WORK_PREFIX = "making-"
# Making the model takes seconds: a working folder this old was left by a process killed
# as it made it (a younger one may be another process's, at work).
ABANDONED_SECONDS = 3600
HEADS, HIDDEN = 12, 384  # all-MiniLM-L6-v2's attention heads and hidden size

log = logging.getLogger(__name__)


def int8_model(source: Path, source_sha256: str, folder: Path) -> Path:
    """The int8 model made from `source` into `folder`, once: a later call (any process)
    finds it there. Named by the source and the onnxruntime that made it."""
    import onnxruntime

    name = f"{FILE_PREFIX}-{source_sha256[:16]}-ort{onnxruntime.__version__}.onnx"
    target = folder / name
    _remove_abandoned(folder)
    if not target.exists():
        folder.mkdir(parents=True, exist_ok=True)
        log.info("making the int8 embedding model %s (once, a few seconds)", target)
        with tempfile.TemporaryDirectory(prefix=WORK_PREFIX, dir=folder) as work:
            made = _quantized(source, Path(work))
            os.replace(made, target)  # whole or not at all, whoever else makes it too
    return target


def _remove_abandoned(folder: Path) -> None:
    """Remove the working folders of makings that never ended (~90 MB each at least:
    the model in float)."""
    for work in folder.glob(WORK_PREFIX + "*"):
        with suppress(OSError):  # gone meanwhile: another process removed it
            if time.time() - work.stat().st_mtime > ABANDONED_SECONDS:
                log.info("removing %s, left by an int8 model making that never ended", work)
                shutil.rmtree(work)


def _quantized(source: Path, work: Path) -> Path:
    import onnxruntime
    from onnxruntime.quantization import QuantType, quantize_dynamic
    from onnxruntime.transformers.optimizer import optimize_model

    folded = work / "folded.onnx"  # weights cast and scaled once: plain float tensors
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(folded)
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])
    fused = optimize_model(str(folded), model_type="bert", num_heads=HEADS,
                           hidden_size=HIDDEN, opt_level=0)
    quantized = work / "int8.onnx"
    with _without_preprocessing_advice():
        quantize_dynamic(fused.model, quantized, weight_type=QuantType.QInt8,
                         per_channel=True)
    return quantized


class _PreprocessingAdvice(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return "pre-processing before quantization" not in record.getMessage()


@contextmanager
def _without_preprocessing_advice() -> Iterator[None]:
    """The quantizer warns on the root logger, at every start that makes the model, to
    run its pre-processing: shape inference and the fusions done above already."""
    advice = _PreprocessingAdvice()
    logging.getLogger().addFilter(advice)
    try:
        yield
    finally:
        logging.getLogger().removeFilter(advice)
