"""The session store's tables, named for people browsing them in Datasette, and their migrations.

Schema changes are new functions registered on MIGRATIONS; never edit an applied one.
A file whose applied migrations include names unknown here was written by a newer app.
"""
from __future__ import annotations

from sqlite_utils import Database
from sqlite_utils.migrations import Migrations

MIGRATIONS = Migrations("emotion_lab")

_INITIAL = """
CREATE TABLE models (
    id INTEGER PRIMARY KEY,
    spec TEXT NOT NULL,
    identity_hash TEXT NOT NULL UNIQUE,
    family TEXT NOT NULL,
    depth INTEGER NOT NULL,
    width INTEGER NOT NULL,
    first_used TEXT NOT NULL
);
CREATE TABLE direction_sets (
    id INTEGER PRIMARY KEY,
    model INTEGER NOT NULL REFERENCES models(id),
    method TEXT NOT NULL,
    layers TEXT NOT NULL,
    reading_layer INTEGER NOT NULL,
    data_hash TEXT NOT NULL,
    emotions TEXT NOT NULL,
    calibration TEXT NOT NULL,
    fingerprint TEXT NOT NULL UNIQUE,
    first_used TEXT NOT NULL
);
CREATE TABLE sessions (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    ended TEXT,
    status TEXT NOT NULL CHECK (status IN ('recording', 'complete', 'interrupted')),
    model INTEGER NOT NULL REFERENCES models(id),
    direction_set INTEGER REFERENCES direction_sets(id),
    app_version TEXT NOT NULL,
    scenario TEXT,
    notes TEXT NOT NULL DEFAULT '',
    temperature REAL NOT NULL,
    top_p REAL NOT NULL,
    seed INTEGER,
    max_new_tokens INTEGER NOT NULL,
    recorder_host TEXT,
    recorder_pid INTEGER
);
CREATE INDEX sessions_by_created ON sessions(created);
CREATE TABLE turns (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    turn_index INTEGER NOT NULL,
    role TEXT NOT NULL,
    text TEXT,
    UNIQUE (session, turn_index)
);
CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    turn INTEGER NOT NULL REFERENCES turns(id),
    batch_row INTEGER NOT NULL,
    position INTEGER NOT NULL,
    token_id INTEGER NOT NULL,
    text TEXT NOT NULL,
    is_prompt INTEGER NOT NULL,
    strengths TEXT
);
CREATE INDEX tokens_by_session ON tokens(session);
CREATE TABLE readings (
    token INTEGER PRIMARY KEY REFERENCES tokens(id),
    calibrated TEXT NOT NULL
);
CREATE TABLE residuals (
    token INTEGER NOT NULL REFERENCES tokens(id),
    layer INTEGER NOT NULL,
    dtype TEXT NOT NULL,
    shape TEXT NOT NULL,
    vector BLOB NOT NULL,
    PRIMARY KEY (token, layer)
);
CREATE TABLE steering_events (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    turn INTEGER REFERENCES turns(id),
    batch_row INTEGER NOT NULL,
    position INTEGER NOT NULL,
    strengths TEXT NOT NULL,
    layers TEXT NOT NULL
);
CREATE INDEX steering_events_by_session ON steering_events(session);
CREATE VIEW reading_values AS
SELECT tokens.session AS session, turns.turn_index AS turn, turns.role AS role,
       tokens.batch_row AS batch_row, tokens.position AS position, tokens.id AS token,
       tokens.text AS token_text, tokens.is_prompt AS is_prompt,
       reading.key AS emotion, reading.value AS value
FROM readings
JOIN tokens ON tokens.id = readings.token
JOIN turns ON turns.id = tokens.turn,
json_each(readings.calibrated) AS reading;
"""


@MIGRATIONS(name="001_initial")
def _initial(db: Database) -> None:
    """Column notes: JSON in layers, emotions, calibration, scenario, strengths and calibrated
    (emotion -> calibrated z-score at the reading layer; null where not finite); residuals hold
    little-endian float32 vectors with their shape as JSON; times are UTC ISO 8601."""
    db.executescript(_INITIAL)


def known_migrations() -> set[str]:
    """Names of every migration this version of the app knows."""
    return {migration.name for migration in MIGRATIONS.pending(Database(memory=True))}


_EXPERIMENTS = """
CREATE TABLE turn_checks (
    id INTEGER PRIMARY KEY,
    session INTEGER NOT NULL REFERENCES sessions(id),
    turn INTEGER NOT NULL REFERENCES turns(id),
    name TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('rule', 'label')),
    UNIQUE (turn, name, source)
);
CREATE INDEX turn_checks_by_session ON turn_checks(session);
CREATE TABLE experiments (
    id INTEGER PRIMARY KEY,
    title TEXT NOT NULL,
    created TEXT NOT NULL,
    settings TEXT NOT NULL
);
CREATE TABLE experiment_runs (
    id INTEGER PRIMARY KEY,
    experiment INTEGER NOT NULL REFERENCES experiments(id),
    session INTEGER NOT NULL REFERENCES sessions(id),
    series TEXT NOT NULL,
    strength REAL NOT NULL,
    seed INTEGER,
    metrics TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX experiment_runs_by_experiment ON experiment_runs(experiment);
"""


@MIGRATIONS(name="002_checks_and_experiments")
def _checks_and_experiments(db: Database) -> None:
    """turn_checks: behaviour checks that fired on a turn (source 'rule') and labels people added
    (source 'label'). experiments group sessions of one sweep: experiment_runs says which series
    (emotion, or the random control) at which strength and seed each session ran, with run
    metrics (JSON) that cannot be recomputed from the session, such as perplexity."""
    db.executescript(_EXPERIMENTS)


@MIGRATIONS(name="003_push_free_readings")
def _push_free_readings(db: Database) -> None:
    """readings.calibrated holds push-free readings (what the steering added is subtracted);
    readings.push holds that addition per emotion while steering (NULL when unsteered), so the
    raw reading is calibrated + push. Sessions recorded before this hold raw readings and no push."""
    db.execute("ALTER TABLE readings ADD COLUMN push TEXT")


@MIGRATIONS(name="004_stopped_turns")
def _stopped_turns(db: Database) -> None:
    """turns.stopped is 1 where the model's answer was cut off before it finished (Stop pressed, or
    the app closed while it wrote): its text is what had been written by then."""
    db.execute("ALTER TABLE turns ADD COLUMN stopped INTEGER NOT NULL DEFAULT 0")


@MIGRATIONS(name="005_session_runtime")
def _session_runtime(db: Database) -> None:
    """sessions.runtime: where and how the model ran, a JSON object of strings (device, dtype and,
    for other engines, engine details); NULL for sessions recorded before it."""
    db.execute("ALTER TABLE sessions ADD COLUMN runtime TEXT")
