"""Messages that show the difference, without decoding a replay file."""

from __future__ import annotations

from wirefault.codecs import get_codec
from wirefault.properties import get_property
from wirefault.properties.render import show, sized
from wirefault.report.summary import summary_json, summary_text
from wirefault.results import CampaignResult, Failure, PropertyResult
from wirefault.scenario import Close, Expect, Scenario, Send
from wirefault.transcript import ConnRecord, ExpectResult, Transcript

LINE = get_codec("line")
FIRST = b"OK the first answer, which is longer than forty bytes by a margin"
SECOND = b"OK the second answer, which is longer than forty bytes as well"


def _two_plays(whole: tuple[bytes, ...], split: tuple[bytes, ...], split_end: str) -> Transcript:
    transcript = Transcript()
    transcript.conns = {0: ConnRecord(conn=0), 1: ConnRecord(conn=1)}
    transcript.expects = [
        ExpectResult(1, 0, 2, whole, "ok", 0.01),
        ExpectResult(4, 1, 2, split, split_end, 0.5),  # type: ignore[arg-type]
    ]
    return transcript


SCENARIO = Scenario(
    steps=(
        Send(conn=0, chunks=(b"a\nb\n",)),
        Expect(conn=0, count=2),
        Close(conn=0),
        Send(conn=1, chunks=(b"a", b"\nb\n")),
        Expect(conn=1, count=2),
        Close(conn=1),
    )
)


def test_a_swapped_reply_order_shows_the_first_differing_response_whole_with_its_index() -> None:
    transcript = _two_plays((FIRST, SECOND), (SECOND, FIRST), "ok")
    verdict = get_property("reassembly").judge(SCENARIO, transcript, LINE)
    assert not verdict.ok and verdict.kind == "mismatch"
    assert "First difference, response #1" in verdict.message
    assert repr(FIRST) in verdict.message and repr(SECOND) in verdict.message
    assert "(ok)" not in verdict.message
    assert "closed normally" in verdict.message
    assert not verdict.message.startswith("reassembly")


def test_a_missing_reply_is_a_timeout_and_says_what_did_not_come() -> None:
    transcript = _two_plays((FIRST, SECOND), (FIRST,), "timeout")
    verdict = get_property("reassembly").judge(SCENARIO, transcript, LINE)
    assert verdict.kind == "timeout"
    assert "sent in 2 chunks, they got 1 response and then nothing until the deadline" in (
        verdict.message
    )
    assert f"response #2: sent whole {SECOND!r}; sent in 2 chunks nothing" in verdict.message


def test_the_summary_names_the_property_once_and_explains_the_scenario_size() -> None:
    verdict = get_property("reassembly").judge(
        SCENARIO, _two_plays((FIRST,), (SECOND,), "ok"), LINE
    )
    failure = Failure("reassembly", verdict.message, SCENARIO, Transcript(), kind=verdict.kind)
    outcome = PropertyResult(
        "reassembly",
        "failed",
        12,
        failure=failure,
        examples_to_failure=7,
        seconds_to_failure=1.25,
        notes=["a note"],
    )
    result = CampaignResult(results=[outcome], elapsed=2.0)
    text = summary_text(result)
    assert "reassembly: reassembly" not in text
    assert "reassembly (mismatch): sent whole, the requests got" in text
    assert "minimal scenario (6 steps, 8 bytes sent):" in text
    assert "units" not in text
    assert "first failing example: #7, 1.25s after the launch" in text
    assert "note: a note" in text
    summary = summary_json(
        result, target="t", transport="tcp", codec="line", backend="none", seed=None
    )
    (entry,) = summary["failures"]
    assert (entry["examples_to_failure"], entry["seconds_to_failure"]) == (7, 1.25)
    assert entry["kind"] == "mismatch"
    assert summary["notes"] == [{"property": "reassembly", "note": "a note"}]


def test_long_bytes_keep_both_ends_and_their_size() -> None:
    assert show(b"x" * 300, limit=10) == "b'xxxxx' ... b'xxxxx' (300 bytes)"
    assert show(FIRST) == repr(FIRST)
    assert sized(8200, "line") == "an 8,200-byte line"
    assert sized(11, "line") == "an 11-byte line"
    assert sized(1100, "line") == "a 1,100-byte line"
    assert sized(18_000, "line") == "an 18,000-byte line"
