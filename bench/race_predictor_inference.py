"""How race_predictor should run its tree models: ONNX Runtime, a compiled model (treelite +
tl2cgen), or the dependency-free evaluator it ships (`TreeEnsemble` over `*.trees.json`).

    .venv/bin/python bench/race_predictor_inference.py             # ~1.5 min on 2 cores
    .venv/bin/python bench/race_predictor_inference.py --function  # part 2 only

Part 1, per model (F1 swap, F1 gap, NHL face-off) and per runtime:
  cold s     a fresh isolated interpreter: import the runtime, load the model, predict one row
             (median of 3 processes; what a Lambda cold start pays for the model)
  1 row ms   one prediction in a warm process (median of 300)
  20 rows ms a batch of 20 rows (median of 100)
  MB         the packages the cold process imported from site-packages (the runtime and what it
             pulls in, e.g. numpy), plus the model file: what the function would have to ship
  max|dp|    largest difference from the trained model's own prediction on 5,000 random rows
             (15% missing, some exact zeros: the rows `ml.export_trees` checks)
Part 2, the shipped function: race_predictor's handlers imported from the built artifact (function
folder + layer, no venv) in a fresh interpreter with both models loaded, and the artifact's unzipped
size, beside the targets of issue 13 (cold start <= 1 s, package <= 60 MB).

Figures are from this machine (x86_64 host wheels; the arm64 wheels Lambda gets are of similar
size). Nothing is asserted: the numbers are printed for the model cards.
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "services" / "race_predictor")]

import numpy as np  # noqa: E402

from ml.export_trees import native_predict, random_rows  # noqa: E402
from race_predictor.logic.common.inference import MODELS_DIR, TreeEnsemble  # noqa: E402

# (name, native model the trees were exported from, shipped tree JSON, XGBoost wrapper kind)
MODELS = [
    ("F1 swap", ROOT / "ml/f1/artifacts/native/f1_pit_battle_swap.xgb.json", MODELS_DIR / "f1_pit_battle_swap.trees.json", "classifier"),
    ("F1 gap", ROOT / "ml/f1/artifacts/native/f1_pit_battle_gap.xgb.json", MODELS_DIR / "f1_pit_battle_gap.trees.json", "regressor"),
    ("NHL face-off", ROOT / "ml/nhl/nhl_faceoff_lgbm.txt", MODELS_DIR / "nhl_faceoff.trees.json", "classifier"),
]
TARGET_COLD_S, TARGET_PACKAGE_MB = 1.0, 60.0


def is_xgboost(model: Path) -> bool:
    return model.read_text().lstrip().startswith("{")


# --- the three runtimes: each builds its model file once, then a predict(rows) -> probabilities


def onnx_file(model: Path, kind: str, features: int, out: Path) -> Path:
    """Convert with onnxmltools (the converter the project used before issue 13)."""
    import onnxmltools
    from onnxmltools.convert.common.data_types import FloatTensorType

    initial = [("input", FloatTensorType([None, features]))]
    if is_xgboost(model):
        import xgboost as xgb

        wrapper = xgb.XGBClassifier() if kind == "classifier" else xgb.XGBRegressor()
        wrapper.load_model(str(model))
        converted = onnxmltools.convert_xgboost(wrapper, initial_types=initial, target_opset=15)
    else:
        import lightgbm as lgb

        converted = onnxmltools.convert_lightgbm(lgb.Booster(model_file=str(model)), initial_types=initial,
                                                 target_opset=15, zipmap=False)
    out.write_bytes(converted.SerializeToString())
    return out


def onnx_predictor(path: Path, kind: str) -> Callable[[Any], Any]:
    import onnxruntime as ort

    ort.set_default_logger_severity(3)  # the converted graphs' label output warns on every run
    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    outputs = [o.name for o in session.get_outputs()]

    def predict(rows: Any) -> Any:
        result = session.run(outputs, {"input": np.asarray(rows, dtype=np.float32)})
        if kind == "regressor":
            return result[0].ravel()
        return np.asarray(result[-1])[:, 1]  # probabilities: (label, probabilities)

    return predict


def tl2cgen_library(model: Path, out: Path) -> Path:
    """Compile the model to a shared library with gcc (what a function would ship per CPU)."""
    import tl2cgen
    import treelite

    loaded = (treelite.frontend.load_xgboost_model(str(model)) if is_xgboost(model)
              else treelite.frontend.load_lightgbm_model(str(model)))
    tl2cgen.export_lib(loaded, toolchain="gcc", libpath=str(out), params={"parallel_comp": 8}, nthread=2)
    return out


def tl2cgen_predictor(path: Path, kind: str) -> Callable[[Any], Any]:
    import tl2cgen

    predictor = tl2cgen.Predictor(str(path), nthread=1)

    def predict(rows: Any) -> Any:
        return np.asarray(predictor.predict(tl2cgen.DMatrix(np.asarray(rows, dtype=np.float32)))).ravel()

    return predict


def stdlib_predictor(path: Path, kind: str) -> Callable[[Any], Any]:
    ensemble = TreeEnsemble(json.loads(path.read_text()))
    return lambda rows: np.asarray(ensemble.predict(np.asarray(rows).tolist()))


# The cold-start probe runs in a fresh `python -I` with only site-packages and the service on its
# path; it reports wall time and the site-packages folders it imported from.
_COLD_PROBE = r"""
import json, sys, time
start = time.perf_counter()
runtime, path, features = sys.argv[1], sys.argv[2], int(sys.argv[3])
row = [[0.5] * features]
if runtime == "onnxruntime":
    import numpy as np, onnxruntime as ort
    ort.set_default_logger_severity(3)
    s = ort.InferenceSession(path, providers=["CPUExecutionProvider"])
    s.run(None, {"input": np.asarray(row, dtype=np.float32)})
elif runtime == "tl2cgen":
    import numpy as np, tl2cgen
    tl2cgen.Predictor(path, nthread=1).predict(tl2cgen.DMatrix(np.asarray(row, dtype=np.float32)))
else:
    sys.path.insert(0, sys.argv[4])
    import json as j
    from race_predictor.logic.common.inference import TreeEnsemble
    with open(path) as f:
        TreeEnsemble(j.load(f)).predict(row)
seconds = time.perf_counter() - start
site = [p for p in sys.path if p.endswith("site-packages")]
tops = set()
for module in list(sys.modules.values()):
    file = getattr(module, "__file__", None) or ""
    for prefix in site:
        if file.startswith(prefix + "/"):
            tops.add(prefix + "/" + file[len(prefix) + 1:].split("/")[0])
print(json.dumps({"seconds": seconds, "folders": sorted(tops)}))
"""


def cold(runtime: str, path: Path, features: int) -> tuple[float, float]:
    runs = []
    folders: list[str] = []
    for _ in range(3):
        done = subprocess.run([sys.executable, "-I", "-B", "-c", _COLD_PROBE, runtime, str(path), str(features),
                               str(ROOT / "services" / "race_predictor")],
                              capture_output=True, text=True, check=True)
        answer = json.loads(done.stdout.strip().splitlines()[-1])
        runs.append(answer["seconds"])
        folders = answer["folders"]
    size = sum(_tree_bytes(Path(f)) for f in folders) + path.stat().st_size
    return statistics.median(runs), size / 2**20


def _tree_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def warm_ms(predict: Callable[[Any], Any], rows: Any, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        predict(rows)
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1000


def compare_runtimes(work: Path) -> list[str]:
    lines = [f"{'model':<13} {'runtime':<12} {'cold s':>7} {'1 row ms':>9} {'20 rows ms':>11} {'MB':>7} {'max|dp|':>9}"]
    for name, native, trees, kind in MODELS:
        features = int(json.loads(trees.read_text())["num_features"])
        rows = random_rows(5000, features)
        truth = np.asarray(native_predict(native, rows), dtype=np.float64)
        slug = name.lower().replace(" ", "_").replace("-", "_")
        files = {
            "onnxruntime": (onnx_file(native, kind, features, work / f"{slug}.onnx"), onnx_predictor),
            "tl2cgen": (tl2cgen_library(native, work / f"{slug}.so"), tl2cgen_predictor),
            "stdlib trees": (trees, stdlib_predictor),
        }
        for runtime, (path, make) in files.items():
            predict = make(path, kind)
            worst = float(np.max(np.abs(np.asarray(predict(rows), dtype=np.float64) - truth)))
            cold_s, megabytes = cold(runtime.split()[0], path, features)
            lines.append(f"{name:<13} {runtime:<12} {cold_s:>7.3f} {warm_ms(predict, rows[:1], 300):>9.3f} "
                         f"{warm_ms(predict, rows[:20], 100):>11.3f} {megabytes:>7.1f} {worst:>9.2g}")
    return lines


def shipped_function() -> list[str]:
    """race_predictor's functions as built: import from the artifact + model load, and size."""
    from local.artifact.__main__ import build_host
    from local.artifact.build import build
    from local.artifact.check import import_handler

    template = ROOT / "template.yaml"
    host = build_host(template)  # this machine's CPU: the copy the local cloud runs
    deploy = build(template, ROOT / ".aws-sam" / "build")  # what `sam deploy` uploads
    load_models = ("from race_predictor.logic.common.inference import load_bundle\n"
                   "from race_predictor.logic.f1.predictor import MANIFEST as F1\n"
                   "from race_predictor.logic.nhl.predictor import MANIFEST as NHL\n"
                   "load_bundle(F1); load_bundle(NHL)")
    lines = [f"{'function':<26} {'cold s':>7} {'cpu s':>6} {'no .pyc s':>9} {'ratio':>6} {'target':>7} "
             f"{'unzipped MB':>12} {'target':>7}"]
    with tempfile.TemporaryDirectory() as empty:
        # `-X pycache_prefix=<empty folder>`: Python looks for bytecode there only, finds none and
        # compiles every module, as a cold start of an artifact shipped without .pyc files does.
        without = ("-X", f"pycache_prefix={empty}")
        for logical_id, function in host.stack.functions.items():
            if not function.handler.startswith("race_predictor."):
                continue
            runs: dict[str, list[float]] = {"wall": [], "cpu": [], "bare": []}
            problems: list[str] = []
            for _ in range(5):  # interleaved, so both variants see the same load on a shared machine
                for key, flags, cpu in (("wall", (), False), ("cpu", (), True), ("bare", without, False)):
                    seconds, problem = import_handler(host, logical_id, then=load_models, flags=flags, cpu=cpu)
                    runs[key].append(seconds) if seconds is not None else problems.append(str(problem))
            folders = [deploy.function_dir(logical_id), *deploy.layer_dirs(logical_id)]
            size = sum(_tree_bytes(folder) for folder in folders)
            if problems:
                lines.append(f"{logical_id:<26} FAILED")
                lines += [f"  {problem}" for problem in dict.fromkeys(problems)]
                continue
            wall, cpu, bare = (statistics.median(runs[key]) for key in ("wall", "cpu", "bare"))
            lines.append(f"{logical_id:<26} {wall:>7.2f} {cpu:>6.2f} {bare:>9.2f} {bare / wall:>6.2f} {TARGET_COLD_S:>7.1f} "
                         f"{size / 2**20:>12.1f} {TARGET_PACKAGE_MB:>7.0f}")
    lines.append("cold s: fresh interpreter, handler module imported from the host artifact + both model bundles "
                 "loaded (median of 5, wall); cpu s: the same process's CPU time (steadier when the machine is shared); "
                 "no .pyc s: the same import with the shipped bytecode ignored (what an artifact without .pyc pays); "
                 "ratio: no .pyc / shipped, measured in one run; unzipped MB: the arm64 deploy artifact, function + layers")
    return lines


def main() -> int:
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    print(__doc__.split("\n\n")[0])
    if "--function" not in sys.argv[1:]:
        with tempfile.TemporaryDirectory() as work:
            print("\n".join(compare_runtimes(Path(work))))
        print()
    print("\n".join(shipped_function()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
