"""Connect a generation to the session store: register the model and directions, record each
token, and turn changes in the strengths carried by events into steering events."""
from __future__ import annotations

from collections.abc import Iterable, Iterator

from lab import __version__
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.engine import Engine
from lab.runtime.steering_changes import SteeringChanges
from lab.store.lab_file import SessionRecorder, SessionStore


def start_recording(store: SessionStore, engine: Engine, title: str, sampling: SamplingSettings, scenario: dict | None = None, notes: str = "") -> SessionRecorder:
    lm, directions = engine.lm, engine.directions
    model_id = store.register_model(lm.spec, lm.identity, lm.family, lm.depth, lm.width)
    calibration = {
        "units": "z-score against neutral tokens at the reading layer",
        "mean": [round(float(v), 5) for v in directions.calib_mean[directions.reading_layer]],
        "std": [round(float(v), 5) for v in directions.calib_std[directions.reading_layer]],
    }
    directions_id = store.register_directions(
        model_id, directions.method, list(directions.steering_layers), directions.data_hash,
        directions.reading_layer, calibration, directions.emotions,
    )
    return store.start_session(title, model_id, directions_id, sampling, scenario=scenario, notes=notes,
                               app_version=__version__, runtime=engine.runtime)


def recorded(recorder: SessionRecorder, events: Iterable[TokenEvent], layers: tuple[int, ...]) -> Iterator[TokenEvent]:
    """Pass events through, recording each token and every change of a row's strengths."""
    changes = SteeringChanges(layers)
    for event in events:
        change = changes.change(event)
        if change is not None:
            recorder.steering(change, row=event.row)
        recorder.add_token(event)
        yield event
