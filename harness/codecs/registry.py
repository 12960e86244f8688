"""Finding codecs by name: the built-ins, entry points, and ``package.module:Name`` references.

A name given to ``--codec``, the ``wirefault`` marker or a replay file is one of:

* a built-in codec name (``lenfield``, ``resp``...: :data:`BUILTIN`);
* a name registered by an installed package under the entry-point group
  ``wirefault.codecs`` (``memcache-text = memcache_text:MemcacheTextCodec``);
* a reference ``package.module:Name`` to a :class:`~wirefault.codecs.base.Codec`
  subclass in the user's code, imported from ``sys.path``, the installed packages,
  or the current directory.

:func:`codec_reference` goes the other way: the name that rebuilds a given codec,
which is what replay files store. Loading a user codec imports the user's module
(their own code, named by them): nothing is evaluated beyond that import.
"""

from __future__ import annotations

import difflib
import importlib
import inspect
import os
import sys
from importlib.metadata import EntryPoint, entry_points

from wirefault.codecs.base import Codec
from wirefault.codecs.datagram import DatagramCodec
from wirefault.codecs.http import HttpCodec
from wirefault.codecs.lenfield import LenFieldCodec
from wirefault.codecs.lenprefix import LenPrefixCodec
from wirefault.codecs.line import LineCodec
from wirefault.codecs.raw import RawCodec
from wirefault.codecs.resp import RespCodec
from wirefault.errors import UsageError

__all__ = ["BUILTIN", "ENTRY_POINT_GROUP", "codec_class", "codec_reference", "plugin_codecs"]

#: The codecs wirefault ships, by registry name.
BUILTIN: dict[str, type[Codec]] = {
    cls.name: cls
    for cls in (
        RawCodec,
        LineCodec,
        LenPrefixCodec,
        LenFieldCodec,
        HttpCodec,
        RespCodec,
        DatagramCodec,
    )
}

#: The entry-point group installed packages register codecs under.
ENTRY_POINT_GROUP = "wirefault.codecs"

_CONTRACT = "see docs/CODECS.md for the contract"


def plugin_codecs() -> dict[str, EntryPoint]:
    """The codecs installed packages register under ``wirefault.codecs``, by name (not loaded)."""
    return {ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def codec_class(name: str) -> type[Codec]:
    """The codec class called ``name``: built-in, entry point, or ``package.module:Name``.

    Raises:
        UsageError: an unknown name, a module that does not import, an attribute
            that is missing or is not a usable Codec subclass; one line saying which.
    """
    if name in BUILTIN:
        return BUILTIN[name]
    if ":" in name:
        return _checked(_import_reference(name), name)
    plugins = plugin_codecs()
    if name in plugins:
        try:
            loaded = plugins[name].load()
        except Exception as exc:
            raise UsageError(
                f"codec {name!r} (entry point {plugins[name].value!r} of group "
                f"{ENTRY_POINT_GROUP}) does not load: {type(exc).__name__}: {exc}"
            ) from None
        return _checked(loaded, name)
    known = [*BUILTIN, *sorted(plugins)]
    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean {close[0]}? " if close else ""
    raise UsageError(
        f"unknown codec {name!r}; {hint}choose one of: {', '.join(known)}, "
        "or give your own as package.module:ClassName"
    )


def codec_reference(codec: Codec) -> str:
    """The name that rebuilds ``codec``'s class with :func:`codec_class`.

    A built-in's name, else the entry-point name whose target is this class,
    else ``module:QualifiedName``.
    """
    cls = type(codec)
    if BUILTIN.get(cls.name) is cls:
        return cls.name
    reference = f"{cls.__module__}:{cls.__qualname__}"
    for ep in plugin_codecs().values():
        if ep.value.replace(" ", "") == reference:
            return ep.name
    return reference


def _import_reference(reference: str) -> object:
    module_name, _, attr = reference.partition(":")
    if not module_name or not attr:
        raise UsageError(
            f"codec reference {reference!r} must be package.module:ClassName, "
            "e.g. myproto.codec:MyCodec"
        )
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name != module_name.split(".")[0] or os.getcwd() in sys.path:
            raise _import_error(reference, exc) from None
        # A console script's sys.path lacks the current directory; `python -m` has it.
        sys.path.append(os.getcwd())
        try:
            module = importlib.import_module(module_name)
        except Exception as again:
            raise _import_error(reference, again) from None
    except Exception as exc:
        raise _import_error(reference, exc) from None
    found: object = module
    for part in attr.split("."):
        if not hasattr(found, part):
            raise UsageError(
                f"codec {reference!r}: module {module_name} has no {attr!r}; "
                "check the class name after the colon"
            )
        found = getattr(found, part)
    return found


def _import_error(reference: str, exc: Exception) -> UsageError:
    module_name = reference.partition(":")[0]
    if isinstance(exc, ModuleNotFoundError):
        return UsageError(
            f"codec {reference!r}: cannot import {module_name} ({exc}); is it installed, "
            "on PYTHONPATH, or in the current directory?"
        )
    return UsageError(
        f"codec {reference!r}: importing {module_name} failed: {type(exc).__name__}: {exc}"
    )


def _checked(found: object, name: str) -> type[Codec]:
    """``found`` if it is a concrete Codec subclass with the class attributes the engine reads."""
    if not (isinstance(found, type) and issubclass(found, Codec)):
        kind = type(found).__name__ if not isinstance(found, type) else f"class {found.__name__}"
        raise UsageError(
            f"codec {name!r} is a {kind}, not a subclass of wirefault.codecs.Codec; {_CONTRACT}"
        )
    if inspect.isabstract(found):
        missing = ", ".join(sorted(getattr(found, "__abstractmethods__", ())))
        raise UsageError(f"codec {name!r} does not implement {missing}; {_CONTRACT}")
    codec_name = getattr(found, "name", None)
    transport = getattr(found, "transport", None)
    if not isinstance(codec_name, str) or not codec_name or transport not in ("stream", "datagram"):
        raise UsageError(
            f"codec {name!r} must set the class attributes name (a string) and transport "
            f"('stream' or 'datagram'), got {codec_name!r} and {transport!r}; {_CONTRACT}"
        )
    return found
