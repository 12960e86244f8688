"""Malformed HTTP requests that break real parsers, each with the RFC rule it breaks.

Each kind is drawn as an :class:`HttpCase`: the malformed request (``bad``),
the same request done right (``good``, a baseline: what the server answers
when nothing is wrong) and the :class:`~wirefault.strategies.http_rules.Rule`
it breaks. The shapes come from the request-smuggling work (HTTP Garden,
T-Reqs, the h11, Kestrel and net/http chunked-parsing CVEs): what one parser
takes and another refuses.

=============================  ==========================  =====================================
kind                           rule                        variants
=============================  ==========================  =====================================
conflicting-content-length     content-length-valid        two lines, different values
content-length-and-chunked     close-after-te-and-cl       both framings (chunked body or not)
bad-chunk-size                 chunk-size-hex              letters, sign, 0x
chunk-size-whitespace          chunk-size-whitespace       SP or HTAB before or after the size
garbage-request-line           request-line                letters and CRLFs
header-without-colon           field-line                  a field line with no colon
truncated-body*                incomplete-message          Content-Length beyond the body
over-long-header-line          line-length                 a 16 or 64 KiB field line
content-length-sign            content-length-valid        +N, -N
content-length-list            content-length-valid        "N, M" with N != M
content-length-junk            content-length-valid        1_0, 0x10, trailing letters
chunked-not-last               chunked-last                chunked, gzip; gzip; two TE lines
chunk-size-overflow*           chunk-size-overflow         2^64 + n, 2^32 + n
http10-chunked                 close-after-http10-te       HTTP/1.0 keep-alive, chunked
whitespace-before-colon        field-name-whitespace       SP/HTAB before ':' (X-, Host, C-L)
missing-host                   host-required               HTTP/1.1 with no Host
duplicate-host                 host-single                 two Host lines
invalid-host                   host-valid                  SP, '"', '/', '@', '{' ... in Host
obs-fold                       obs-fold                    folded Content-Length or Host
bare-cr                        bare-cr                     CR in Content-Length, before ':'
nul-in-field                   nul-in-field                NUL in Content-Length or Host
whitespace-before-first-field  whitespace-before-first-field  " Host: ..." as the first field
bad-chunk-terminator           chunk-data-crlf             XX, LF, CR, nothing after the data
chunk-line-bare-lf             chunk-line-crlf             LF ends a chunk line or precedes CRLF
invalid-method                 method-token                '(', '"', '@', NUL in the method
invalid-version                http-version                http/1.1, HTTP/11, HTTP/1.x, ...
control-in-field               field-value-ctl             \\x01..\\x1f, DEL, NUL in a value
over-long-request-line         line-length                 a 16 or 64 KiB request-target
backtracking-field-value       field-value-ctl             a long run ending in a forbidden byte
=============================  ==========================  =====================================

``*`` marks kinds whose ``bad`` a correct server reads as unfinished (it waits
for more bytes): their senders half-close after them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from wirefault.strategies._common import FILL_ALPHABET, repeat_to
from wirefault.strategies.http_rules import RULES, Rule
from wirefault.strategies.payloads import payloads

__all__ = ["HttpCase", "RequestHead", "http_cases"]

#: Letters that are not hex digits: never a valid chunk size.
_NOT_HEX = b"ghijklmnopqrstuvwxyz"
#: Field lines h11 and common servers refuse (16 KiB is h11's default buffer limit).
_LONG_SIZES = (16 * 1024 + 1, 64 * 1024 + 1)
#: Bytes that make a Host value invalid (not in reg-name, RFC 3986 section 3.2.2).
_NOT_IN_HOST = b' "#/<>?@\\^`{|}'
#: Control bytes other than HTAB, CR, LF, and DEL.
_CONTROLS = bytes([*range(0x01, 0x09), 0x0B, 0x0C, *range(0x0E, 0x20), 0x7F, 0x00])
#: Runs that regex parsers backtrack on: letters, spaces and tabs, "a " pairs.
_RUNS = (b"a", b" \t", b"a ", b"\t")
#: Bytes that end a run and make the line invalid.
_FORBIDDEN = (b"\x01", b"\x7f", b"\x00", b"\r")


@dataclass(frozen=True)
class RequestHead:
    """What every request of a run shares.

    Attributes:
        method: the method of every request (bodies are sent whatever it is).
        target: the request-target.
        host: the Host value.
        extra: field lines added to every request, last (``strictness`` marks its rule there).
    """

    method: bytes = b"POST"
    target: bytes = b"/wirefault"
    host: bytes = b"wirefault"
    extra: tuple[bytes, ...] = ()

    def request(
        self,
        fields: tuple[bytes, ...] = (),
        body: bytes = b"",
        *,
        host: bytes | None = b"",
        start: bytes = b"",
    ) -> bytes:
        """A request: start line, Host line (``b""``: the usual, None: none), fields, body."""
        lines = [start or b"%s %s HTTP/1.1" % (self.method, self.target)]
        if host is not None:
            lines.append(host or b"Host: " + self.host)
        lines += [*fields, *self.extra]
        return b"\r\n".join(lines) + b"\r\n\r\n" + body


@dataclass(frozen=True)
class HttpCase:
    """A malformed request, the same request done right, and the rule between them.

    Attributes:
        kind: the malformation (see the module table).
        rule: the RFC rule ``bad`` breaks.
        bad: the malformed request.
        good: the same request without the malformation.
        complete: False when a correct server reads ``bad`` as unfinished.
        must_fail: whether the http codec's request decoder (h11) refuses ``bad``.
    """

    kind: str
    rule: Rule
    bad: bytes
    good: bytes
    complete: bool = True
    must_fail: bool = True


_BODY = payloads(min_size=1, max_size=16, alphabet=FILL_ALPHABET)
_WORD = payloads(min_size=1, max_size=8, alphabet=FILL_ALPHABET)


def _case(kind: str, rule: str, *, complete: bool = True) -> Callable[..., HttpCase]:
    def build(bad: bytes, good: bytes, must_fail: bool = True) -> HttpCase:
        return HttpCase(kind, RULES[rule], bad, good, complete, must_fail)

    return build


def _length(body: bytes) -> bytes:
    return b"Content-Length: %d" % len(body)


def _chunked(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n0\r\n\r\n" % (len(data), data)


_TE = b"Transfer-Encoding: chunked"


# -- framing: Content-Length ------------------------------------------------------------------


def _conflicting(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int]) -> HttpCase:
        data, extra = parts
        first, second = len(data), len(data) + extra
        body = repeat_to(data, second)
        lengths = (b"Content-Length: %d" % first, b"Content-Length: %d" % second)
        return _case("conflicting-content-length", "content-length-valid")(
            head.request(lengths, body), head.request((_length(body),), body)
        )

    return st.tuples(_BODY, st.integers(1, 16)).map(build)


def _sign(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, bytes]) -> HttpCase:
        sign, body = parts
        bad = head.request((b"Content-Length: %s%d" % (sign, len(body)),), body)
        return _case("content-length-sign", "content-length-valid")(
            bad, head.request((_length(body),), body)
        )

    return st.tuples(st.sampled_from((b"+", b"-")), _BODY).map(build)


def _list(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int, bool]) -> HttpCase:
        data, extra, longer_first = parts
        short, long = len(data), len(data) + extra
        body = repeat_to(data, long)
        values = (long, short) if longer_first else (short, long)
        bad = head.request((b"Content-Length: %d, %d" % values,), body)
        return _case("content-length-list", "content-length-valid")(
            bad, head.request((_length(body),), body)
        )

    return st.tuples(_BODY, st.integers(1, 16), st.booleans()).map(build)


def _junk(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, int]) -> HttpCase:
        size, style = parts
        digits = b"%d" % size
        value = (digits[:1] + b"_" + digits[1:], b"0x%x" % size, digits + b"a")[style]
        body = b"x" * size
        bad = head.request((b"Content-Length: " + value,), body)
        return _case("content-length-junk", "content-length-valid")(
            bad, head.request((_length(body),), body)
        )

    return st.tuples(st.integers(10, 40), st.integers(0, 2)).map(build)


def _truncated(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int]) -> HttpCase:
        data, missing = parts
        whole = len(data) + missing
        bad = head.request((b"Content-Length: %d" % whole,), data)
        good = head.request((_length(data),), data)
        return _case("truncated-body", "incomplete-message", complete=False)(bad, good)

    return st.tuples(payloads(max_size=16, alphabet=FILL_ALPHABET), st.integers(1, 16)).map(build)


# -- framing: Transfer-Encoding ---------------------------------------------------------------


def _te_and_cl(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, bool]) -> HttpCase:
        word, valid = parts
        # Not valid as chunked: a parser honouring Transfer-Encoding fails at once, and one
        # honouring Content-Length has a whole body to answer. Valid: both read the same.
        body = _chunked(word) if valid else word + b"\r\n"
        bad = head.request((b"Content-Length: %d" % len(body), _TE), body)
        return _case("content-length-and-chunked", "close-after-te-and-cl")(
            bad, head.request((_TE,), _chunked(word)), must_fail=True
        )

    return st.tuples(payloads(min_size=1, max_size=8, alphabet=_NOT_HEX), st.booleans()).map(build)


def _chunked_not_last(head: RequestHead) -> SearchStrategy[HttpCase]:
    codings = (
        (b"Transfer-Encoding: chunked, gzip",),
        (b"Transfer-Encoding: gzip",),
        (b"Transfer-Encoding: chunked, identity",),
        (b"Transfer-Encoding: chunked, x-wirefault",),
        (_TE, b"Transfer-Encoding: gzip"),
    )

    def build(parts: tuple[tuple[bytes, ...], bytes]) -> HttpCase:
        fields, data = parts
        body = _chunked(data)
        return _case("chunked-not-last", "chunked-last")(
            head.request(fields, body), head.request((_TE,), body)
        )

    return st.tuples(st.sampled_from(codings), _BODY).map(build)


def _http10_chunked(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(data: bytes) -> HttpCase:
        start = b"%s %s HTTP/1.0" % (head.method, head.target)
        alive = b"Connection: keep-alive"
        bad = head.request((alive, _TE), _chunked(data), start=start)
        good = head.request((alive, _length(data)), data, start=start)
        return _case("http10-chunked", "close-after-http10-te")(bad, good, must_fail=False)

    return _BODY.map(build)


def _overflow(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, bytes]) -> HttpCase:
        bits, data = parts
        size = b"%x" % ((1 << bits) + len(data))
        body = size + b"\r\n" + data + b"\r\n0\r\n\r\n"
        return _case("chunk-size-overflow", "chunk-size-overflow", complete=False)(
            head.request((_TE,), body), head.request((_TE,), _chunked(data))
        )

    # Not 2^128: h11 refuses a size of over 20 digits at once, so it is no unfinished message.
    return st.tuples(st.sampled_from((64, 32)), _BODY).map(build)


# -- framing: chunk syntax (SHOULD) -----------------------------------------------------------


def _bad_chunk_size(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, bytes]) -> HttpCase:
        style, word = parts
        data = word[:1] * 4
        size = (word, b"+4", b"-4", b"0x4")[style]
        body = size + b"\r\n" + (data + b"\r\n0\r\n\r\n" if style else b"")
        return _case("bad-chunk-size", "chunk-size-hex")(
            head.request((_TE,), body), head.request((_TE,), _chunked(data))
        )

    return st.tuples(st.integers(0, 3), payloads(min_size=1, max_size=8, alphabet=_NOT_HEX)).map(
        build
    )


def _chunk_size_whitespace(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, bytes]) -> HttpCase:
        style, data = parts
        size = b"%x" % len(data)
        size = (b" " + size, size + b" ", size + b"\t")[style]
        body = size + b"\r\n" + data + b"\r\n0\r\n\r\n"
        # h11 takes trailing whitespace before the CRLF (a leniency of its own).
        return _case("chunk-size-whitespace", "chunk-size-whitespace")(
            head.request((_TE,), body), head.request((_TE,), _chunked(data)), style == 0
        )

    return st.tuples(st.integers(0, 2), _BODY).map(build)


def _bad_terminator(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, bytes]) -> HttpCase:
        ending, data = parts
        body = b"%x\r\n" % len(data) + data + ending + b"0\r\n\r\n"
        return _case("bad-chunk-terminator", "chunk-data-crlf")(
            head.request((_TE,), body), head.request((_TE,), _chunked(data))
        )

    endings = st.sampled_from((b"XX", b"\n", b"\r", b"", b"\r\r", b"\n\n"))
    return st.tuples(endings, _BODY).map(build)


def _bare_lf_chunk(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, bytes]) -> HttpCase:
        where, data = parts
        size = b"%x" % len(data)
        body = (
            size + b"\n" + data + b"\r\n0\r\n\r\n",
            size + b"\r\n" + data + b"\r\n0\n\r\n",
            # A bare LF just before the CRLF: a regex ending in '$' (which matches before
            # a final newline in Python) takes "5\n" for a chunk size.
            size + b"\n\r\n" + data + b"\r\n0\r\n\r\n",
        )[where]
        return _case("chunk-line-bare-lf", "chunk-line-crlf")(
            head.request((_TE,), body), head.request((_TE,), _chunked(data))
        )

    return st.tuples(st.integers(0, 2), _BODY).map(build)


# -- request line -----------------------------------------------------------------------------


def _garbage_line(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(word: bytes) -> HttpCase:
        return _case("garbage-request-line", "request-line")(word + b"\r\n\r\n", head.request())

    return payloads(min_size=1, max_size=16, alphabet=FILL_ALPHABET).map(build)


def _invalid_method(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int]) -> HttpCase:
        bad_byte, at = parts
        method = head.method[:at] + bad_byte + head.method[at:]
        start = b"%s %s HTTP/1.1" % (method, head.target)
        return _case("invalid-method", "method-token")(head.request(start=start), head.request())

    spots = st.integers(0, len(head.method))
    return st.tuples(st.sampled_from((b"(", b'"', b"@", b"\x00", b",", b"{")), spots).map(build)


def _invalid_version(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(version: bytes) -> HttpCase:
        start = b"%s %s %s" % (head.method, head.target, version)
        return _case("invalid-version", "http-version")(head.request(start=start), head.request())

    versions = (b"http/1.1", b"HTTP/11", b"HTTP/1.x", b"HTTP/1", b"HTTP/1.1.1", b"HTTP/ 1.1")
    return st.sampled_from(versions).map(build)


def _long_request_line(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int]) -> HttpCase:
        fill, size = parts
        start = b"%s /%s HTTP/1.1" % (head.method, repeat_to(fill, size))
        bad = head.request(start=start)
        return _case("over-long-request-line", "line-length")(bad, head.request(), False)

    return st.tuples(_WORD, st.sampled_from(_LONG_SIZES)).map(build)


# -- field lines ------------------------------------------------------------------------------


def _no_colon(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(word: bytes) -> HttpCase:
        good = head.request((b"X-Wirefault: " + word,))
        return _case("header-without-colon", "field-line")(head.request((word,)), good)

    return payloads(min_size=1, max_size=16, alphabet=FILL_ALPHABET).map(build)


def _long_field(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int]) -> HttpCase:
        fill, size = parts
        bad = head.request((b"X-Wirefault: " + repeat_to(fill, size),))
        good = head.request((b"X-Wirefault: " + fill,))
        return _case("over-long-header-line", "line-length")(bad, good, False)

    return st.tuples(
        payloads(min_size=1, max_size=16, alphabet=FILL_ALPHABET), st.sampled_from(_LONG_SIZES)
    ).map(build)


_WHITESPACE = st.sampled_from((b" ", b"\t", b"  ", b" \t"))


def _ws_before_colon(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int, bytes]) -> HttpCase:
        ws, which, body = parts
        make = _case("whitespace-before-colon", "field-name-whitespace")
        if which == 0:
            bad = head.request((b"X-Wirefault" + ws + b": yes",))
            return make(bad, head.request((b"X-Wirefault: yes",)))
        if which == 1:
            bad = head.request(host=b"Host" + ws + b": " + head.host)
            return make(bad, head.request())
        bad = head.request((b"Content-Length" + ws + b": %d" % len(body),), body)
        return make(bad, head.request((_length(body),), body))

    return st.tuples(_WHITESPACE, st.integers(0, 2), _BODY).map(build)


def _missing_host(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(forwarded: bool) -> HttpCase:
        # A proxy's X-Forwarded-Host does not stand in for Host.
        fields = (b"X-Forwarded-Host: " + head.host,) if forwarded else ()
        bad = head.request(fields, host=None)
        return _case("missing-host", "host-required")(bad, head.request(fields))

    return st.booleans().map(build)


def _duplicate_host(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(other: bytes | None) -> HttpCase:
        second = b"Host: " + (head.host if other is None else other)
        bad = head.request((second,))
        return _case("duplicate-host", "host-single")(bad, head.request())

    return st.one_of(st.none(), _WORD).map(build)


def _invalid_host(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[int, int]) -> HttpCase:
        bad_byte, at = parts
        host = head.host[:at] + bytes([bad_byte]) + head.host[at:]
        bad = head.request(host=b"Host: " + host)
        return _case("invalid-host", "host-valid")(bad, head.request(), False)

    spots = st.integers(1, max(1, len(head.host) - 1))
    return st.tuples(st.sampled_from(_NOT_IN_HOST), spots).map(build)


def _split_length(body: bytes, joint: bytes) -> bytes:
    """``Content-Length: 1<joint>2`` for a 12-byte-ish body: digits either side of ``joint``."""
    digits = b"%d" % len(body)
    return b"Content-Length: " + digits[:1] + joint + digits[1:]


def _repaired_invalid(kind: str, rule: str, joints: tuple[bytes, ...]):  # type: ignore[no-untyped-def]
    """Kinds whose repaired form (the joint replaced by SP) is still an invalid C-L or Host."""

    def make(head: RequestHead) -> SearchStrategy[HttpCase]:
        def build(parts: tuple[bytes, bool, bytes]) -> HttpCase:
            joint, in_host, fill = parts
            body = repeat_to(fill, 10 + len(fill))
            if in_host:
                half = max(1, len(head.host) // 2)
                bad = head.request(host=b"Host: " + head.host[:half] + joint + head.host[half:])
                return _case(kind, rule)(bad, head.request(), joint not in (b"\r\n ", b"\r\n\t"))
            bad = head.request((_split_length(body, joint),), body)
            return _case(kind, rule)(bad, head.request((_length(body),), body))

        return st.tuples(st.sampled_from(joints), st.booleans(), _BODY).map(build)

    return make


_obs_fold = _repaired_invalid("obs-fold", "obs-fold", (b"\r\n ", b"\r\n\t"))
_nul_in_field = _repaired_invalid("nul-in-field", "nul-in-field", (b"\x00",))


def _bare_cr(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bool, bytes]) -> HttpCase:
        in_name, fill = parts
        body = repeat_to(fill, 10 + len(fill))
        if in_name:
            bad = head.request((b"X-Wirefault\r: yes",))
            return _case("bare-cr", "bare-cr")(bad, head.request((b"X-Wirefault: yes",)))
        bad = head.request((_split_length(body, b"\r"),), body)
        return _case("bare-cr", "bare-cr")(bad, head.request((_length(body),), body))

    return st.tuples(st.booleans(), _BODY).map(build)


def _ws_first_field(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(ws: bytes) -> HttpCase:
        bad = head.request(host=ws + b"Host: " + head.host)
        return _case("whitespace-before-first-field", "whitespace-before-first-field")(
            bad, head.request()
        )

    return _WHITESPACE.map(build)


def _control_in_field(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int, bytes]) -> HttpCase:
        word, control, rest = parts
        # h11 refuses NUL, and retains the other controls (RFC 9110 allows it).
        rejected = control == 0x00
        bad = head.request((b"X-Wirefault: " + word + bytes([control]) + rest,))
        good = head.request((b"X-Wirefault: " + word + rest,))
        return _case("control-in-field", "field-value-ctl")(bad, good, rejected)

    return st.tuples(_WORD, st.sampled_from(_CONTROLS), _WORD).map(build)


def _backtracking(head: RequestHead) -> SearchStrategy[HttpCase]:
    def build(parts: tuple[bytes, int, bytes]) -> HttpCase:
        run, size, forbidden = parts
        long = repeat_to(run, size)
        bad = head.request((b"X-Wirefault: " + long + forbidden,))
        good = head.request((b"X-Wirefault: " + long.strip(b" \t") + b"x",))
        # h11 retains controls (RFC 9110 section 5.5 allows it) but not NUL or a bare CR.
        make = _case("backtracking-field-value", "field-value-ctl")
        return make(bad, good, forbidden in (b"\x00", b"\r"))

    sizes = st.one_of(st.sampled_from((4000, 1000)), st.integers(64, 4000))
    return st.tuples(st.sampled_from(_RUNS), sizes, st.sampled_from(_FORBIDDEN)).map(build)


_Kind = Callable[[RequestHead], SearchStrategy[HttpCase]]

#: Every kind with the rule it breaks, in the order shrinking prefers (the first is the
#: simplest failure to show).
_KINDS: tuple[tuple[str, _Kind], ...] = (
    # First: Hypothesis plays the simplest example first, and the one shape that can
    # wedge a server for good should not wait for luck among 28 kinds.
    ("field-value-ctl", _backtracking),
    ("content-length-valid", _conflicting),
    ("close-after-te-and-cl", _te_and_cl),
    ("chunk-size-hex", _bad_chunk_size),
    ("request-line", _garbage_line),
    ("field-line", _no_colon),
    ("incomplete-message", _truncated),
    ("line-length", _long_field),
    ("content-length-valid", _sign),
    ("content-length-valid", _list),
    ("content-length-valid", _junk),
    ("chunked-last", _chunked_not_last),
    ("chunk-size-overflow", _overflow),
    ("close-after-http10-te", _http10_chunked),
    ("field-name-whitespace", _ws_before_colon),
    ("host-required", _missing_host),
    ("host-single", _duplicate_host),
    ("host-valid", _invalid_host),
    ("obs-fold", _obs_fold),
    ("bare-cr", _bare_cr),
    ("nul-in-field", _nul_in_field),
    ("whitespace-before-first-field", _ws_first_field),
    ("chunk-data-crlf", _bad_terminator),
    ("chunk-line-crlf", _bare_lf_chunk),
    ("chunk-size-whitespace", _chunk_size_whitespace),
    ("method-token", _invalid_method),
    ("http-version", _invalid_version),
    ("field-value-ctl", _control_in_field),
    ("line-length", _long_request_line),
)


def http_cases(
    *, head: RequestHead | None = None, rules: frozenset[str] | None = None
) -> list[SearchStrategy[HttpCase]]:
    """One strategy per malformed kind (module table order), each request built on ``head``.

    Args:
        head: method, target, Host and extra lines of every request (default
            ``POST /wirefault``, Host ``wirefault``).
        rules: only the kinds that break one of these rule ids (None: every kind).

    Example::

        cases = st.one_of(*http_cases(rules=frozenset({"host-required"})))
    """
    head = head or RequestHead()
    return [make(head) for rule, make in _KINDS if rules is None or rule in rules]
