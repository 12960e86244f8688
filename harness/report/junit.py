"""JUnit XML for CI dashboards: one testcase per property."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path

from wirefault.results import CampaignResult

__all__ = ["write_junit"]


def write_junit(result: CampaignResult, path: Path, *, suite: str) -> None:
    """Write ``result`` as a JUnit XML testsuite named ``suite`` to ``path``."""
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
    for r in result.results:
        case = ET.SubElement(
            root, "testcase", classname=f"wirefault.{suite}", name=r.name, time=f"{r.elapsed:.3f}"
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
