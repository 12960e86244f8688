"""The JUnit report: names that read well in Jenkins' and GitLab's test views."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from wirefault.report.junit import suite_name, write_junit
from wirefault.results import CampaignResult, Failure, PropertyResult
from wirefault.scenario import Expect, Scenario, Send
from wirefault.transcript import Transcript

START = "redis-server --port {port} --save ''"


def _result() -> CampaignResult:
    scenario = Scenario(steps=(Send(conn=0, chunks=(b"PING\r\n",)), Expect(conn=0, count=1)))
    failure = Failure(
        property="pipelining",
        message="pipelining: one by one got 2 response(s) but pipelined got 1",
        scenario=scenario,
        transcript=Transcript(),
        replay=Path("wirefault-out/pipelining-resp-20261123-130101.json"),
    )
    return CampaignResult(
        results=[
            PropertyResult("reassembly", "passed", examples=25, elapsed=1.5),
            PropertyResult("pipelining", "failed", examples=3, elapsed=2.0, failure=failure),
            PropertyResult("echo", "skipped", note="not asked for"),
        ],
        elapsed=3.5,
    )


def _write(tmp_path: Path, *, target: str, start: str | None) -> ET.Element:
    path = tmp_path / "report.xml"
    write_junit(_result(), path, suite=suite_name(target, start), codec="resp", target=target)
    return ET.parse(path).getroot()


def test_the_class_is_wirefault_dot_codec_with_no_dot_from_the_address(tmp_path: Path) -> None:
    suite = _write(tmp_path, target="tcp://127.0.0.1:6379", start=None)
    classnames = {case.get("classname") for case in suite.iter("testcase")}
    assert classnames == {"wirefault.resp"}
    # Jenkins cuts the class name at its last dot: package "wirefault", class "resp".
    assert "wirefault.resp".rpartition(".")[::2] == ("wirefault", "resp")


def test_each_property_is_a_testcase_named_after_it(tmp_path: Path) -> None:
    suite = _write(tmp_path, target="tcp://127.0.0.1:6379", start=None)
    cases = {case.get("name"): case for case in suite.iter("testcase")}
    assert list(cases) == ["reassembly", "pipelining", "echo"]
    failure = cases["pipelining"].find("failure")
    assert failure is not None and "pipelined got 1" in failure.get("message", "")
    assert "wirefault replay wirefault-out/pipelining-resp" in (failure.text or "")
    assert cases["echo"].find("skipped") is not None
    assert suite.get("tests") == "3" and suite.get("failures") == "1"


def test_the_suite_is_the_target_without_a_prefix(tmp_path: Path) -> None:
    suite = _write(tmp_path, target="tcp://127.0.0.1:6379", start=None)
    assert suite.get("name") == "tcp://127.0.0.1:6379"


def test_the_suite_is_the_server_command_when_wirefault_started_it(tmp_path: Path) -> None:
    suite = _write(tmp_path, target="tcp://127.0.0.1:0", start=START)
    assert suite.get("name") == START
    recorded = {p.get("name"): p.get("value") for p in suite.iter("property")}
    assert recorded == {"target": "tcp://127.0.0.1:0", "codec": "resp"}
