"""Loads ONNX models once per process and runs them with ONNX Runtime on float32 rows.

One intra-op thread: a Lambda function with the memory we give it has about one vCPU, and a few
hundred trees on one row are faster without thread hand-offs.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import onnxruntime as ort

MODELS_DIR = Path(__file__).resolve().parents[2] / "artifacts"


class OnnxModel:
    """An ONNX Runtime session with its single input; `run` returns the outputs by name."""

    def __init__(self, path: Path) -> None:
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        options.inter_op_num_threads = 1
        self.session = ort.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        self.input_name = self.session.get_inputs()[0].name
        self.output_names = [output.name for output in self.session.get_outputs()]

    def run(self, rows: np.ndarray) -> dict[str, Any]:
        outputs = self.session.run(None, {self.input_name: np.asarray(rows, dtype=np.float32)})
        return dict(zip(self.output_names, outputs, strict=True))


@dataclass(frozen=True)
class ModelBundle:
    """A manifest (JSON: version, feature names, lookup tables) and the ONNX models it names."""

    manifest: dict[str, Any]
    models: dict[str, OnnxModel]

    @property
    def version(self) -> str:
        return str(self.manifest["model_version"])


@functools.cache
def load_bundle(manifest_path: Path) -> ModelBundle:
    """Load a bundle once per process; `manifest["models"]` maps a role to an .onnx file beside it."""
    manifest = json.loads(manifest_path.read_text())
    models = {role: OnnxModel(manifest_path.parent / name) for role, name in manifest["models"].items()}
    return ModelBundle(manifest, models)
