"""Re-run a recorded session's first model turn: the same prompt, seed, sampling and steering
timeline (a slider moved mid-answer is moved again at the same token) give the same tokens; or
the same prompt and seed with other steering."""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from lab.common.errors import LabError
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.engine import Engine
from lab.runtime.steering import SteeringState
from lab.store.records import SessionRecord


@dataclass(frozen=True)
class ReplayPlan:
    prompt_ids: list[int]
    sampling: SamplingSettings
    timeline: list[tuple[int, dict[str, float]]]  # (first position, strengths in force from there on)
    recorded_ids: list[int]  # the tokens the model wrote then


def replay_plan(record: SessionRecord) -> ReplayPlan:
    """What to feed the generator to repeat the session's first model turn (row 0)."""
    tokens = [t for t in record.tokens if t.event.row == 0]
    first_reply = next((i for i, t in enumerate(tokens) if not t.event.is_prompt), None)
    if first_reply is None:
        raise LabError("This session has no model reply to re-run.")
    start = max(i for i in range(first_reply) if tokens[i].event.position == 0) if first_reply else 0
    prompt = [t.event.token_id for t in tokens[start:first_reply]]
    reply_turn = tokens[first_reply].turn
    turns = {tokens[start].turn, reply_turn, None}
    reply = [t.event.token_id for t in tokens[first_reply:] if t.turn == reply_turn and not t.event.is_prompt]
    changes = sorted(
        (s.change for s in record.steering if s.row == 0 and s.turn in turns), key=lambda change: change.position
    )
    timeline = [(c.position, dict(c.strengths)) for c in changes]
    # a budget that ends where the recording ended (a stop token, the limit, or the user's Stop)
    sampling = SamplingSettings(record.sampling.temperature, record.sampling.top_p, record.sampling.seed, max(len(reply), 1))
    return ReplayPlan(prompt, sampling, timeline, reply)


def strengths_at(timeline: list[tuple[int, dict[str, float]]], position: int) -> dict[str, float]:
    in_force: dict[str, float] = {}
    for first, strengths in timeline:
        if first <= position:
            in_force = strengths
    return in_force


def rerun(engine: Engine, plan: ReplayPlan, steer: dict[str, float] | None = None) -> Iterator[TokenEvent]:
    """Generate the planned turn again; `steer` replaces the recorded timeline with fixed strengths."""
    if plan.sampling.temperature > 0 and plan.sampling.seed is None:
        raise LabError("This session was sampled without a fixed seed, so it cannot be repeated exactly. Re-run it with a seed.")
    timeline = [(0, steer)] if steer is not None else plan.timeline
    steering = SteeringState(engine.directions)
    last_prompt = len(plan.prompt_ids) - 1
    steering.set_all(strengths_at(timeline, last_prompt))
    for event in engine.generate(plan.prompt_ids, steering, plan.sampling):
        yield event
        if event.position >= last_prompt:
            steering.set_all(strengths_at(timeline, event.position + 1))  # in force for the next forward pass
