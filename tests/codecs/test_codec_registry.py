"""User codecs: by ``package.module:Name``, by entry point, checked, and rebuilt from replays."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from wirefault.addresses import Address
from wirefault.codecs import Codec, codec_class, codec_reference, get_codec, plugin_codecs
from wirefault.errors import UsageError
from wirefault.replay import load_replay, save_replay
from wirefault.scenario import Scenario, Send
from wirefault.transcript import Transcript

#: A user's codec module: a netstring codec (``5:hello,``), which wirefault does not ship.
NETSTRING = """
from dataclasses import dataclass
from typing import ClassVar

from wirefault.codecs import Codec, Decoder
from wirefault.errors import FrameError


class NetstringDecoder(Decoder):
    def __init__(self) -> None:
        self.buf = b""

    @property
    def pending(self) -> int:
        return len(self.buf)

    def feed(self, data: bytes) -> list[bytes]:
        if not data:
            if self.buf:
                raise FrameError("netstring: stream ended mid-frame")
            return []
        self.buf += data
        frames = []
        while b":" in self.buf:
            size, _, rest = self.buf.partition(b":")
            if not size.isdigit():
                raise FrameError(f"netstring: bad length {size!r}")
            if len(rest) < int(size) + 1:
                break
            frames.append(rest[: int(size)])
            self.buf = rest[int(size) + 1 :]
        return frames


@dataclass(frozen=True)
class Netstring(Codec):
    name: ClassVar[str] = "netstring"
    transport: ClassVar[str] = "stream"
    max_frame: int = 1000

    def options(self):
        return {"max_frame": self.max_frame}

    def encode(self, payload: bytes) -> bytes:
        return b"%d:%s," % (len(payload), payload)

    def request_decoder(self) -> Decoder:
        return NetstringDecoder()

    def response_decoder(self) -> Decoder:
        return NetstringDecoder()


class Half(Codec):
    name: ClassVar[str] = "half"
    transport: ClassVar[str] = "stream"


class Nameless(Netstring):
    name = ""


def not_a_class():
    return None


class NotACodec:
    pass
"""


@pytest.fixture
def user_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A fresh module holding the netstring codec, importable for this test only."""
    name = f"user_codecs_{tmp_path.name.replace('-', '_')}"
    (tmp_path / f"{name}.py").write_text(NETSTRING, encoding="utf-8")
    monkeypatch.syspath_prepend(str(tmp_path))
    return name


def test_a_reference_loads_the_users_codec_class(user_module: str) -> None:
    codec = get_codec(f"{user_module}:Netstring", max_frame=20)
    assert codec.name == "netstring"
    assert codec.encode(b"hi") == b"2:hi,"
    assert codec.request_decoder().feed(b"2:hi,3:abc,") == [b"hi", b"abc"]
    assert codec_reference(codec) == f"{user_module}:Netstring"
    assert codec_class(codec_reference(codec)) is type(codec)


@pytest.mark.parametrize(
    ("attr", "message"),
    [
        ("not_a_class", r"is a function, not a subclass of wirefault.codecs.Codec"),
        ("NotACodec", r"is a class NotACodec, not a subclass"),
        ("Half", r"does not implement encode, max_frame, options, request_decoder"),
        ("Nameless", r"must set the class attributes name .* got ''"),
        ("Missing", r"has no 'Missing'; check the class name after the colon"),
    ],
)
def test_what_is_not_a_usable_codec_class_is_one_clear_usage_error(
    user_module: str, attr: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message) as info:
        get_codec(f"{user_module}:{attr}")
    assert "\n" not in str(info.value)


def test_a_module_that_does_not_import_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match=r"cannot import no_such_module_wf .*PYTHONPATH"):
        get_codec("no_such_module_wf:Codec")
    with pytest.raises(UsageError, match=r"must be package\.module:ClassName"):
        get_codec("module_only:")


def test_a_module_that_raises_on_import_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "broken_codec_wf.py").write_text("raise RuntimeError('boom')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match="importing broken_codec_wf failed: RuntimeError: boom"):
        get_codec("broken_codec_wf:X")


def test_options_of_a_user_codec_are_checked_like_a_builtins(user_module: str) -> None:
    with pytest.raises(UsageError, match=r"has no option 'header_bytes'.*max_frame"):
        get_codec(f"{user_module}:Netstring", header_bytes=2)
    with pytest.raises(UsageError, match="max_frame must be int"):
        get_codec(f"{user_module}:Netstring", max_frame="big")


def _install_entry_point(site: Path, name: str, target: str) -> None:
    """A distribution's metadata registering ``name = target`` under wirefault.codecs."""
    info = site / "wirefault_user_plugin-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(
        "Metadata-Version: 2.1\nName: wirefault-user-plugin\nVersion: 1.0\n"
    )
    (info / "entry_points.txt").write_text(
        textwrap.dedent(f"""\
        [wirefault.codecs]
        {name} = {target}
        """)
    )


def test_an_entry_point_registers_a_codec_by_name(
    user_module: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    _install_entry_point(site, "netstring", f"{user_module}:Netstring")
    monkeypatch.syspath_prepend(str(site))
    assert "netstring" in plugin_codecs()
    codec = get_codec("netstring", max_frame=9)
    assert codec.encode(b"x") == b"1:x,"
    # A replay file stores the entry-point name, as the user wrote it.
    assert codec_reference(codec) == "netstring"
    with pytest.raises(UsageError, match=r"unknown codec 'smtp'.*netstring"):
        get_codec("smtp")


def test_an_entry_point_that_does_not_load_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _install_entry_point(tmp_path, "ghost", "ghost_module_wf:Ghost")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(UsageError, match=r"codec 'ghost' \(entry point .*\) does not load"):
        get_codec("ghost")


def test_a_replay_file_rebuilds_a_user_codec(user_module: str, tmp_path: Path) -> None:
    codec: Codec = get_codec(f"{user_module}:Netstring", max_frame=50)
    path = save_replay(
        tmp_path,
        prop="reassembly",
        message="m",
        codec=codec,
        address=Address("tcp", "127.0.0.1", 4000),
        scenario=Scenario(steps=(Send(conn=0, chunks=(b"2:hi,",)),)),
        transcript=Transcript(),
        start=None,
        backend=None,
        deadline=1.0,
        seed=None,
        agreement=(1, 1),
        preamble=(b"HELLO\r\n",),
        probe=b"4:ping,",
    )
    replay = load_replay(path)
    assert replay.codec() == codec
    assert (replay.preamble, replay.probe) == ((b"HELLO\r\n",), b"4:ping,")
