"""HTTP API of race_predictor (Chalice; one function behind API Gateway, one `Api` event per route).

The routes are blueprints: F1 in `routes/f1.py`, NHL face-offs in `routes/nhl.py`. Both models are
loaded here, at import, i.e. in Lambda's init phase, so the first request does not pay for them.
"""

from __future__ import annotations

from chalice import Chalice

from race_predictor import factory
from race_predictor.routes.f1 import f1
from race_predictor.routes.nhl import nhl

app = Chalice(app_name="race_predictor", configure_logs=False)
app.register_blueprint(f1)
app.register_blueprint(nhl)

factory.f1_predictor()
factory.faceoff_model()
