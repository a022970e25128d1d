"""Re-running a recorded session: same seed, settings and steering timeline give the same tokens."""
import pytest

PROMPT = [{"role": "user", "content": "sun smile laugh"}]


def record_session(tmp_path, tiny_lm, tiny_directions, sampling, change_after=None):
    from lab.runtime.engine import Engine
    from lab.runtime.generator import generate
    from lab.sessions.recording import recorded, start_recording
    from lab.runtime.steering import SteeringState
    from lab.store.lab_file import open_store

    engine = Engine(tiny_lm, tiny_directions)
    store = open_store(tmp_path / "lab.db")
    steering = SteeringState(tiny_directions)
    steering.set_all({"fear": 0.5})
    with start_recording(store, engine, "original", sampling) as recorder:
        recorder.begin_turn("user", PROMPT[0]["content"])
        recorder.begin_turn("assistant")
        reply = []
        for event in recorded(recorder, generate(tiny_lm, tiny_directions, tiny_lm.chat_ids(PROMPT), steering, sampling), steering.layers):
            if not event.is_prompt:
                reply.append(event)
                if len(reply) == change_after:
                    steering.set_all({"joy": 1.5})  # a slider moved mid-answer
        recorder.end_turn("".join(e.text for e in reply))
        recorder.finish()
    return engine, store, recorder.session_id, reply


@pytest.mark.parametrize("temperature", [0.0, 1.0])
def test_rerun_repeats_tokens_readings_and_the_steering_timeline(tmp_path, tiny_lm, tiny_directions, temperature):
    from lab.common.events import SamplingSettings
    from lab.sessions.replay import replay_plan, rerun

    sampling = SamplingSettings(temperature=temperature, top_p=0.9, seed=5, max_new_tokens=12)
    engine, store, session_id, original = record_session(tmp_path, tiny_lm, tiny_directions, sampling, change_after=4)
    assert len(original) > 4  # the slider really moved mid-answer
    plan = replay_plan(store.load_session(session_id))

    again = [e for e in rerun(engine, plan) if not e.is_prompt]

    assert [e.token_id for e in again] == [e.token_id for e in original] == plan.recorded_ids
    assert [e.strengths for e in again] == [e.strengths for e in original]
    assert [e.readings for e in again] == [e.readings for e in original]
    assert {"joy": 1.5} in [e.strengths for e in again] and {"fear": 0.5} in [e.strengths for e in again]


def test_rerun_with_other_steering_changes_the_answer_but_keeps_the_prompt(tmp_path, tiny_lm, tiny_directions):
    from lab.common.events import SamplingSettings
    from lab.sessions.replay import replay_plan, rerun

    sampling = SamplingSettings(temperature=0.0, seed=3, max_new_tokens=12)
    engine, store, session_id, original = record_session(tmp_path, tiny_lm, tiny_directions, sampling)
    plan = replay_plan(store.load_session(session_id))

    events = list(rerun(engine, plan, steer={"rage": 3.0}))

    assert [e.token_id for e in events if e.is_prompt] == tiny_lm.chat_ids(PROMPT)
    steered = [e for e in events if not e.is_prompt]
    assert all(e.strengths == {"rage": 3.0} for e in steered)
    assert [e.readings for e in steered] != [e.readings for e in original]


def test_unseeded_sampled_session_cannot_be_repeated_exactly(tmp_path, tiny_lm, tiny_directions):
    from lab.common.errors import LabError
    from lab.common.events import SamplingSettings
    from lab.sessions.replay import replay_plan, rerun

    sampling = SamplingSettings(temperature=1.0, seed=None, max_new_tokens=4)
    engine, store, session_id, _ = record_session(tmp_path, tiny_lm, tiny_directions, sampling)
    with pytest.raises(LabError, match="seed"):
        list(rerun(engine, replay_plan(store.load_session(session_id))))
