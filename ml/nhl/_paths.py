"""Makes `race_predictor` importable when an ml script runs outside pytest (`python -m ml.nhl.train`).

Training must compute features with the function's own module, so it imports it from the service.
"""

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
for folder in (ROOT / "services" / "race_predictor", ROOT / "shared"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
