"""Replay files: what they hold, their signature and key, how often a bare replay plays."""

from __future__ import annotations

import json
import os
import stat
from pathlib import Path

import pytest

from wirefault.addresses import parse_address
from wirefault.codecs import get_codec
from wirefault.errors import UsageError
from wirefault.replay import FreshPlays, Replay, load_replay, save_replay
from wirefault.scenario import Expect, Scenario, Send
from wirefault.signing import KEY_ENV, key_path, sign, signature_ok
from wirefault.transcript import Transcript


@pytest.fixture
def key(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "config" / "wirefault" / "key"
    monkeypatch.setenv(KEY_ENV, str(path))
    return path


def saved(out: Path, *, start: str | None = "serve --port {port}") -> Path:
    return save_replay(
        out,
        prop="pipelining",
        message="pipelining: broke",
        codec=get_codec("lenprefix", header_bytes=2),
        address=parse_address("tcp://127.0.0.1:4000"),
        scenario=Scenario(steps=(Send(chunks=(b"\x00\x01a",)), Expect())),
        transcript=Transcript(),
        start=start,
        backend="embedded",
        deadline=0.5,
        seed=7,
        agreement=(3, 1),
        probe=b"\x00\x04PING",
        greeting=True,
        fresh=FreshPlays(16, True),
    )


def test_a_file_fuzz_writes_is_signed_and_holds_all_replay_needs(key: Path, tmp_path: Path) -> None:
    replay = load_replay(saved(tmp_path / "out"))
    assert replay.trusted
    assert replay.codec().options() == get_codec("lenprefix", header_bytes=2).options()
    assert (replay.probe, replay.greeting, replay.deadline) == (b"\x00\x04PING", True, 0.5)
    assert (replay.backend, replay.start, replay.fresh) == (
        "embedded",
        "serve --port {port}",
        FreshPlays(16, True),
    )


def test_the_key_is_created_once_readable_by_its_owner_alone(key: Path, tmp_path: Path) -> None:
    assert not key.exists()
    saved(tmp_path / "a")
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(key.parent.stat().st_mode) == 0o700
    first = key.read_text()
    saved(tmp_path / "b")
    assert key.read_text() == first and len(bytes.fromhex(first.strip())) == 32


@pytest.mark.parametrize(
    "edit",
    [
        lambda d: d["target"].update(start="touch PWNED; serve --port {port}"),
        lambda d: d.update(property="reassembly"),
        lambda d: d["scenario"]["steps"].append({"op": "close", "conn": 0}),
        lambda d: d.update(signature="hmac-sha256:" + "0" * 64),
        lambda d: d.pop("signature"),
    ],
    ids=["start command", "property", "scenario", "forged signature", "no signature"],
)
def test_an_edited_file_does_not_check_out(key: Path, tmp_path: Path, edit: object) -> None:
    path = saved(tmp_path)
    data = json.loads(path.read_text())
    edit(data)  # type: ignore[operator]
    path.write_text(json.dumps(data, indent=1))
    assert not load_replay(path).trusted


def test_a_file_signed_with_another_key_does_not_check_out(
    key: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = saved(tmp_path / "out")
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "other-user-key"))
    assert not load_replay(path).trusted
    assert not (tmp_path / "other-user-key").exists()  # checking never creates a key


def test_reformatting_a_file_keeps_its_signature(key: Path, tmp_path: Path) -> None:
    path = saved(tmp_path)
    data = json.loads(path.read_text())
    path.write_text(json.dumps(dict(reversed(list(data.items())))))  # other order, no indent
    assert load_replay(path).trusted


def test_the_key_lives_in_the_xdg_config_dir_unless_the_environment_says(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(KEY_ENV, raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert key_path() == tmp_path / "xdg" / "wirefault" / "key"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert key_path() == tmp_path / "home" / ".config" / "wirefault" / "key"
    monkeypatch.setenv(KEY_ENV, str(tmp_path / "ci-secret"))
    assert key_path() == tmp_path / "ci-secret"


def test_a_key_file_that_is_not_a_key_is_an_error_to_sign_with_and_trusts_nothing(
    key: Path,
) -> None:
    key.parent.mkdir(parents=True)
    key.write_text("not a key\n")
    with pytest.raises(UsageError, match="is not a wirefault key"):
        sign({"a": 1})
    assert not signature_ok({"a": 1, "signature": "hmac-sha256:00"})


def test_no_file_is_left_half_written(key: Path, tmp_path: Path) -> None:
    out = tmp_path / "out"
    paths = {saved(out) for _ in range(3)}
    assert len(paths) == 3  # same second, three names: never overwritten
    assert sorted(os.listdir(out)) == sorted(p.name for p in paths)  # no temporary left


@pytest.mark.parametrize(
    ("agreement", "fresh", "plays"),
    [
        ((3, 3), None, 1),  # reproduces every time: one play
        ((3, 2), None, 5),  # 2/3: five plays miss it with a chance under 1 %
        ((3, 1), None, 12),  # 1/3: twelve
        ((0, 0), None, 1),  # never measured (an old file): one, as before
        ((3, 3), FreshPlays(16, True), 16),  # a leak: 15 plays build the state, the 16th fails
        ((3, 1), FreshPlays(16, True), 15 + 12),
        ((3, 3), FreshPlays(200, False), 200 + 1),  # never seen from fresh: try as long
        ((30, 1), None, 50),  # rare: capped
    ],
)
def test_a_bare_replay_plays_as_often_as_the_file_says_it_takes(
    agreement: tuple[int, int], fresh: FreshPlays | None, plays: int
) -> None:
    replay = Replay(
        property="reset",
        message="",
        codec_name="line",
        codec_options={},
        address=parse_address("tcp://127.0.0.1:1"),
        scenario=Scenario(steps=(Expect(),)),
        agreement=agreement,
        fresh=fresh,
    )
    assert replay.default_plays() == plays
