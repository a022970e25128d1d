"""Generation jobs: stream lab.runtime.generator's TokenEvents from the worker thread to the GUI and the recorder."""
from __future__ import annotations

from collections.abc import Callable

from lab.runtime.engine import Engine
from lab.common.events import SamplingSettings, TokenEvent
from lab.runtime.generator import generate
from lab.runtime.steering import SteeringState
from ui.services.recorder import TurnLog
from ui.services.workers import Job, JobContext


def generation_job(
    engine: Engine,
    messages: list[dict[str, str]],
    steering: SteeringState,
    settings: SamplingSettings,
    open_log: Callable[[], TurnLog],
    on_items: Callable[[list[TokenEvent]], None],
    on_finally: Callable[[], None],
    answer_text: Callable[[list[str]], str] = lambda answers: answers[0],
    after: Callable[[], None] = lambda: None,
) -> Job:
    """A Job that generates for `messages`; `open_log` and `after` run in the worker thread."""

    def work(ctx: JobContext) -> list[str]:
        log = open_log()
        answers = [[] for _ in range(steering.rows)]
        try:
            prompt_ids = engine.chat_ids(messages)
            for event in generate(engine.lm, engine.directions, prompt_ids, steering, settings, stop=ctx.stop):
                log.token(event)
                ctx.emit(event)
                if not event.is_prompt:
                    answers[event.row].append(event.text)
                    if event.row == 0:
                        ctx.set_progress(len(answers[0]), settings.max_new_tokens)
        finally:
            log.end(answer_text(["".join(parts) for parts in answers]), stopped=ctx.stop.is_set())
            after()
        return ["".join(parts) for parts in answers]

    return Job("generating an answer", work, on_items=on_items, on_finally=on_finally, steps=settings.max_new_tokens)
