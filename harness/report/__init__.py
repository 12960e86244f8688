"""Reports of a campaign: the JSON summary, JUnit XML, and text for a terminal."""

from __future__ import annotations

from harness.report.junit import write_junit
from harness.report.summary import summary_json, summary_text

__all__ = ["summary_json", "summary_text", "write_junit"]
