"""Waiting for more bytes is not a hang: malformed failures are confirmed before they blame.

Each server here says nothing after some malformed bytes. The correct ones were
only waiting for the rest of a frame, and pass with a note once a second play
finishes it (or half-closes); the buggy ones still say nothing and fail, with a
message that names the malformed kind and its size.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from hypothesis import given, settings
from verdicts_support import campaign, malformed

from wirefault.codecs import get_codec
from wirefault.properties import get_property
from wirefault.runner import Runner, RunnerOptions
from wirefault.scenario import Send
from wirefault.strategies.scenarios import malformed_cases
from wirefault.target import ServerProcess

LINE = get_codec("line")
LENPREFIX = get_codec("lenprefix")
OVER_LONG = b"abcdefgh" * 1025  # 8,200 bytes, no newline: longer than --max-line 8192
OVER_LONG_WORDS = "an 8,200-byte line without a newline (longer than --max-line 8192)"


def test_a_line_within_the_servers_larger_limit_is_a_note_not_a_hang(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = serve("line-64k")  # a correct asyncio server whose line limit is 64 KiB
    scenario = malformed("over-long-line", OVER_LONG, LINE.probe())
    judgement = campaign(server, LINE, tmp_path, "malformed").judge(
        get_property("malformed"), scenario
    )
    assert judgement.verdict.ok, judgement.verdict.message
    note = judgement.verdict.note
    assert note is not None and note.topic == "limit:over-long-line"
    assert OVER_LONG_WORDS in note.text
    assert "answered once 1 more byte finished it" in note.text
    assert "raise the codec's (--max-line" in note.text
    assert judgement.scenario.tag("confirm") == "completed"


def test_a_server_with_no_line_limit_is_not_called_hung_either(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = serve("line-uncapped")
    scenario = malformed("over-long-line", OVER_LONG, LINE.probe())
    judgement = campaign(server, LINE, tmp_path, "malformed").judge(
        get_property("malformed"), scenario
    )
    assert judgement.verdict.ok, judgement.verdict.message
    assert judgement.verdict.note is not None


def test_the_first_play_alone_names_the_kind_and_size(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # What the judge says of the unconfirmed play (a replay file from before confirmations).
    server = serve("line-64k")
    scenario = malformed("over-long-line", OVER_LONG, LINE.probe())
    transcript = Runner(server.address, LINE, options=RunnerOptions(deadline=0.3)).play(scenario)
    verdict = get_property("malformed").judge(scenario, transcript, LINE)
    assert not verdict.ok and verdict.kind == "timeout"
    assert verdict.message.startswith(f"after {OVER_LONG_WORDS} b'abcdefgh")
    assert "(8,200 bytes)" in verdict.message  # the bytes, cut with their size
    assert verdict.message.endswith("(malformed kind over-long-line)")


def test_a_skipped_oversized_frame_still_fails_once_its_body_is_sent(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # buggy-malformed-hang skips the body of a frame over 1 MiB and never answers it.
    server = serve(zoo="buggy-malformed-hang")
    length = LENPREFIX.max_frame + 1
    scenario = malformed("length-beyond-max", length.to_bytes(4, "big"), LENPREFIX.probe())
    judgement = campaign(server, LENPREFIX, tmp_path, "malformed").judge(
        get_property("malformed"), scenario
    )
    verdict = judgement.verdict
    assert not verdict.ok and verdict.kind == "timeout", verdict.message
    assert "a 4-byte length header declaring 1,048,577 bytes (more than --max-frame" in (
        verdict.message
    )
    assert "finished by 1,048,577 more bytes" in verdict.message
    # It skipped the body and then answered the probe: the frame was dropped unanswered.
    assert "yet it answered the next request" in verdict.message
    assert "it dropped the frame without an answer" in verdict.message
    assert judgement.scenario.tag("confirm") == "completed"
    completion = judgement.scenario.steps[1]
    assert isinstance(completion, Send) and len(completion.data) == length


def test_a_handler_that_died_on_invalid_utf8_still_fails_after_the_half_close(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # buggy-thread-crash-on-garbage: the handler thread dies, its socket is never closed.
    server = serve(zoo="buggy-thread-crash-on-garbage")
    scenario = malformed("invalid-utf8", b"\x80\n", LINE.probe())
    judgement = campaign(server, LINE, tmp_path, "malformed").judge(
        get_property("malformed"), scenario
    )
    assert not judgement.verdict.ok and judgement.verdict.kind == "timeout"
    assert judgement.scenario.tag("confirm") == "half-closed"
    assert "a 2-byte line with invalid UTF-8 b'\\x80\\n'" in judgement.verdict.message
    assert "of the client's half-close (EOF)" in judgement.verdict.message


def test_a_confirmation_is_not_confirmed_again(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # The replay file holds the confirmation; replaying it must fail the same way.
    server = serve(zoo="buggy-thread-crash-on-garbage")
    run = campaign(server, LINE, tmp_path, "malformed")
    first = run.judge(get_property("malformed"), malformed("invalid-utf8", b"\x80\n", b"x\n"))
    again = run.judge(get_property("malformed"), first.scenario)
    assert again.scenario == first.scenario
    assert not again.verdict.ok and again.verdict.kind == "timeout"


@settings(max_examples=60, deadline=None)
@given(malformed_cases(LENPREFIX))
def test_malformed_scenarios_say_which_kind_they_send_and_where(case) -> None:  # type: ignore[no-untyped-def]
    bad, scenario = case
    assert scenario.tag("malformed") == bad.kind
    step = scenario.steps[int(scenario.tag("malformed_step"))]
    assert isinstance(step, Send) and step.data == bad.data
