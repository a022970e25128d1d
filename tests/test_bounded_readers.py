"""Every reader bounded before the work: the agentic-misalignment template import (aliases,
combinations, string growth, fillings, headings, links outside the folder), scenario system
prompts, check patterns, FIFOs and devices. Each case here hung or took gigabytes before."""
from __future__ import annotations

import os
import textwrap
import tracemalloc

import pytest
from test_scenarios import write_framework

from lab.common.errors import LabError
from lab.common.limits import TEXT_FILE_BYTES, read_text
from lab.scenarios import checks
from lab.scenarios.agentic_import import MAX_COMBINATIONS, import_agentic, section_blocks
from lab.scenarios.files import parse_scenario

PEAK_BYTES = 200_000_000


@pytest.fixture
def framework(tmp_path):
    return write_framework(tmp_path / "framework")


def _peak(call):
    tracemalloc.start()
    try:
        call()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak


def test_yaml_aliases_in_a_config_are_refused_while_reading(framework):
    bomb = "".join(f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi"))
    framework.write_text("a: &a [x, x, x, x, x, x, x, x, x]\n" + bomb + "expansions:\n  - variables: {scenarios: *i}\n")
    with pytest.raises(LabError, match="alias"):
        import_agentic(framework)


def test_combinations_are_counted_before_they_are_enumerated(framework):
    names = ", ".join(f"n{i}" for i in range(1000))
    framework.write_text(textwrap.dedent(f"""\
        expansions:
          - variables: {{scenarios: [{names}], goal_types: [{names}], goal_values: [{names}], urgency_types: [{names}]}}
        """))
    with pytest.raises(LabError, match=f"1000000000000 conditions; the limit is {MAX_COMBINATIONS}"):
        assert _peak(lambda: import_agentic(framework)) < PEAK_BYTES


def test_strings_doubled_in_the_prompt_file_are_refused_as_they_grow(framework):
    prompts = framework.parent.parent / "templates" / "system_prompt_templates.py"
    prompts.write_text('A = "xxxxxxxxxxxxxxxx"\n' + "A = A + A\n" * 29)
    with pytest.raises(LabError, match="million characters"):
        assert _peak(lambda: import_agentic(framework)) < PEAK_BYTES


def test_lists_multiplied_by_comprehensions_are_refused(framework):
    prompts = framework.parent.parent / "templates" / "system_prompt_templates.py"
    prompts.write_text('A = "x" * 1\nL = ["' + "y" * 1000 + '"] \n' + "L = [a + b for a in L for b in L]\n" + "M = [L for i in L]\n" * 3
                       + 'B = [' + ", ".join(["L"] * 5000) + ']\n' + "C = [B, B, B, B]\n" * 40)
    with pytest.raises(LabError, match="million characters|limit"):
        assert _peak(lambda: import_agentic(framework)) < PEAK_BYTES


def test_placeholders_filled_past_the_limit_are_refused_before_filling(framework):
    folder = framework.parent.parent / "templates" / "blackmail"
    (folder / "templates" / "email-template-blackmail-shared.md").write_text("${board_statement}" * 100_000)
    (folder / "variables" / "america_vs_global.md").write_text('## Pro-America\n```json\n{"board_statement": "' + "z" * 100_000 + '"}\n```\n')
    with pytest.raises(LabError, match="filled in could exceed"):
        assert _peak(lambda: import_agentic(framework)) < PEAK_BYTES


def test_headings_are_found_in_one_pass():
    text = "## heading\n" * 40_000 + "## Last\n```json\n{\"a\": 1}\n```\n"
    assert section_blocks(text, "x") == [("Last", '{"a": 1}')]
    assert section_blocks("## A\n\n```json\n{}\n```\n## B\n```json {\"b\": 2}\n```", "x") == [("A", "{}"), ("B", '{"b": 2}')]
    with pytest.raises(LabError, match="lines; the limit"):
        section_blocks("\n" * 200_000, "x")


def test_a_template_linked_outside_the_folder_is_refused(framework, tmp_path):
    secret = tmp_path / "secret.md"
    secret.write_text("PRIVATE KEY")
    shared = framework.parent.parent / "templates" / "blackmail" / "templates" / "email-template-blackmail-shared.md"
    shared.unlink()
    shared.symlink_to(secret)
    with pytest.raises(LabError, match="outside the templates folder"):
        import_agentic(framework)


def test_a_fifo_is_refused_at_once(tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    with pytest.raises(LabError, match="not a regular file"):
        read_text(fifo, TEXT_FILE_BYTES, "text file")  # before: blocked forever in open()
    with pytest.raises(LabError, match="not a regular file"):
        read_text(os.devnull and __import__("pathlib").Path("/dev/zero"), TEXT_FILE_BYTES, "text file")


def test_a_system_prompt_that_fills_in_past_the_limit_is_refused():
    text = textwrap.dedent(f"""\
        title: big system
        variables: {{x: "{'y' * 10_000}"}}
        system: "{'{x}' * 50_000}"
        steps:
          - user: hi
          - model: 10
        """)
    with pytest.raises(LabError, match="system.*million characters"):
        parse_scenario(text, "big")


def test_check_patterns_have_a_total_size_budget():
    phrase = " ".join(["word"] * 600_000)
    text = f"title: t\nsteps:\n  - user: hi\n  - model: 10\nchecks:\n  - name: c\n    any: [\"{phrase}\"]\n"
    with pytest.raises(LabError, match="characters of phrases and patterns"):
        parse_scenario(text, "t")


def test_all_checks_of_a_reply_share_one_time_budget(monkeypatch):
    easy = checks.Check("says hi", (checks.Pattern("hi"),))
    assert checks.fired([easy], "oh hi there") == ["says hi"]
    monkeypatch.setattr(checks, "REPLY_SECONDS", 0.0)
    assert checks.fired([easy] * 500, "oh hi there") == []  # spent budget: no more matching at all
