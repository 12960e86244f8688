"""A baseline before every blame: a request unanswered under a stall, a reset or a fault.

The blame stands only if the same request, alone on a fresh connection with no
staller, reset or fault, is answered. If it is not, while the server still
answers its probe, the request is the problem, and the verdict is a note.
"""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path

from verdicts_support import campaign

from wirefault.addresses import Address
from wirefault.properties import get_property
from wirefault.scenario import Abort, Close, Expect, Scenario, Send
from wirefault.target import ServerProcess

SCRIPTED = Path(__file__).parent.parent / "harness" / "scripted_server.py"
FRAME_PROBE = b"\x00\x05hello"  # a whole frame of the prefix-wait server


def stall(prefix: bytes, request: bytes) -> Scenario:
    """The mid-request stall as stall_scenarios draws it: c0 stalls, c1 asks, c0 resets."""
    steps = (
        Send(conn=0, chunks=(prefix,)),
        Send(conn=1, chunks=(request,)),
        Expect(conn=1, count=1),
        Close(conn=1),
        Abort(conn=0),
    )
    return Scenario(steps=steps)


def test_a_request_unanswered_even_alone_is_a_note_not_a_stall_isolation_failure(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    # --codec raw cannot frame this binary protocol: c1's 5 bytes are a prefix of an
    # 11-byte frame, which a correct server rightly waits to complete, staller or not.
    server = serve("prefix-wait")
    run = campaign(server, "raw", tmp_path, "stall-isolation", probe=FRAME_PROBE)
    judgement = run.judge(get_property("stall-isolation"), stall(b"\x00", b"\x00\x09abc"))
    assert judgement.verdict.ok, judgement.verdict.message
    note = judgement.verdict.note
    assert note is not None and note.topic == "unanswered-request"
    assert "b'\\x00\\tabc', got no answer within 0.5s even alone on a fresh connection" in (
        note.text
    )
    assert "with --codec raw wirefault cannot tell" in note.text
    assert "while c0 stalled mid-request (it sent 1 byte b'\\x00'" in note.text


def test_a_stall_that_blocks_a_complete_request_is_still_blamed(
    serve: Callable[..., ServerProcess], tmp_path: Path
) -> None:
    server = serve(zoo="buggy-blocking-single-client")
    run = campaign(server, "line", tmp_path, "stall-isolation")
    judgement = run.judge(get_property("stall-isolation"), stall(b"ab", b"hello\n"))
    verdict = judgement.verdict
    assert not verdict.ok and verdict.kind == "timeout"
    assert verdict.message.startswith("while c0 stalled mid-request (it sent 2 bytes b'ab'")
    assert "c1's request b'hello\\n' got no answer within 0.5s" in verdict.message


def test_a_server_that_answers_nobody_afterwards_is_still_blamed(tmp_path: Path) -> None:
    # The scripted server wedges on c0's line: alive, but accepting no one. c1's request
    # alone is not answered either, but neither is the probe: the server is to blame.
    command = f"{shlex.quote(sys.executable)} {shlex.quote(str(SCRIPTED))} {{port}}"
    with ServerProcess(command, Address("tcp", "127.0.0.1", 0)) as server:
        run = campaign(server, "line", tmp_path, "stall-isolation")
        judgement = run.judge(get_property("stall-isolation"), stall(b"wedge\n", b"hello\n"))
    assert not judgement.verdict.ok
    assert judgement.verdict.kind == "timeout"
    assert judgement.verdict.note is None
