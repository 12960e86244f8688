"""JUnit XML for CI dashboards: one testsuite per run, one testcase per property.

Names are chosen for how CI systems read them:

* Jenkins' JUnit plugin builds its tree from ``classname``, cut at its last dot into
  package and class, so the class name must hold no dot of its own (an address such
  as ``127.0.0.1`` would become packages ``…127.0.0`` and class ``1:6379``):
  it is ``wirefault.<codec>``, shown as package ``wirefault``, class ``<codec>``;
* GitLab lists each testcase by ``name`` with its ``classname`` beside it;
* the testcase ``name`` is the property (``pipelining``), so a failure reads
  ``wirefault.line > pipelining``;
* the testsuite ``name`` says what was fuzzed: the ``--start`` command when
  wirefault started the server, else the target as typed. It and the target
  also go in the suite's ``<properties>``, which every JUnit reader keeps.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from wirefault.results import CampaignResult

__all__ = ["suite_name", "write_junit"]


def suite_name(target: str, start: str | None) -> str:
    """A run's testsuite name: the server command when wirefault started it, else the target."""
    return start or target


def write_junit(
    result: CampaignResult, path: Path, *, suite: str, codec: str = "", target: str = ""
) -> None:
    """Write ``result`` as a JUnit XML testsuite named ``suite`` to ``path``.

    ``codec`` names the test class (``wirefault.<codec>``); ``target`` is recorded
    in the suite's properties.
    """
    failures = len(result.failures)
    skipped = sum(1 for r in result.results if r.status == "skipped")
    root = ET.Element(
        "testsuite",
        name=suite,
        tests=str(len(result.results)),
        failures=str(failures),
        errors="0",
        skipped=str(skipped),
        time=f"{result.elapsed:.3f}",
    )
    recorded = [(key, value) for key, value in (("target", target), ("codec", codec)) if value]
    if recorded:
        properties = ET.SubElement(root, "properties")
        for key, value in recorded:
            ET.SubElement(properties, "property", name=key, value=value)
    classname = f"wirefault.{codec}" if codec else "wirefault"
    for r in result.results:
        case = ET.SubElement(
            root, "testcase", classname=classname, name=r.name, time=f"{r.elapsed:.3f}"
        )
        if r.status == "skipped":
            ET.SubElement(case, "skipped", message=r.note or "does not apply")
        elif r.failure is not None:
            f = r.failure
            body = "\n".join(f.scenario.describe())
            if f.replay:
                body += f"\n\nreplay file: {f.replay}\nreproduce: wirefault replay {f.replay}"
            node = ET.SubElement(case, "failure", message=f.message, type=r.name)
            node.text = body
        out = f"{r.examples} examples"
        if not r.complete:
            out += f"; {r.note}" if r.note else "; cut short"
        ET.SubElement(case, "system-out").text = out
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)
