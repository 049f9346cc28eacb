"""The running kernel's own GFP name table, from the text of a tracefs format file.

``events/kmem/mm_page_alloc/format`` ends in a ``print fmt:`` whose
``__print_flags(REC->gfp_flags, "|", {EXPR, "NAME"}, ...)`` is the kernel's
``__def_gfpflag_names`` table (include/trace/events/mmflags.h) with every macro
expanded to C integer expressions (enum bit numbers are substituted at boot by
TRACE_DEFINE_ENUM). Those expressions are evaluated here by a small
recursive-descent evaluator over integers: literals, casts, ``~ - +``,
``<< >>``, ``& ^ |`` and parentheses; anything else makes that entry unreadable
and it is skipped (6.10-6.12 kernels before the TRACE_DEFINE_ENUM fix print raw
enum names such as ``___GFP_IO_BIT``).

The file is read by :mod:`minfree.sources.tracefs`; :func:`minfree.model.gfp.layout_from_table`
turns the table into a layout that decodes that kernel's masks.
"""

from __future__ import annotations

import re

__all__ = ["parse_format"]

_U64 = (1 << 64) - 1
_ENTRY = re.compile(r'\{\s*([^{}"]*?)\s*,\s*"([^"]*)"\s*\}')
_CAST = re.compile(
    r"\(\s*(?:__force\s+)?(?:const\s+)?(?:unsigned\s+long\s+long|unsigned\s+long|unsigned\s+int|"
    r"unsigned|long\s+long|long|int|gfp_t)\s*\)"
)
_TOKEN = re.compile(r"\s*(?:(0[xX][0-9a-fA-F]+|\d+)[uUlL]*|(<<|>>|[~|&^()+\-]))")


class _Unreadable(ValueError):
    """An expression outside the supported C subset."""


def _tokens(expr: str) -> list[str]:
    text = _CAST.sub(" ", expr)
    out: list[str] = []
    pos = 0
    while pos < len(text):
        if text[pos:].strip() == "":
            break
        match = _TOKEN.match(text, pos)
        if match is None:
            raise _Unreadable(text[pos:pos + 20])
        out.append(str(int(match.group(1), 0)) if match.group(1) else match.group(2))
        pos = match.end()
    return out


def _apply(op: str, left: int, right: int) -> int:
    if op == "|":
        return left | right
    if op == "^":
        return left ^ right
    if op == "&":
        return left & right
    if op == "<<":
        return (left << right) & _U64
    if op == ">>":
        return left >> right
    if op == "+":
        return (left + right) & _U64
    return (left - right) & _U64


def _evaluate(expr: str) -> int:
    """Evaluate a C integer constant expression as unsigned long.

    >>> _evaluate("((( gfp_t)((((1UL))) << (5)))|(( gfp_t)((((1UL))) << (11))))")
    2080
    >>> _evaluate("(( gfp_t)0x20u)") == 0x20
    True
    """
    tokens = _tokens(expr)
    pos = 0

    def peek() -> str | None:
        return tokens[pos] if pos < len(tokens) else None

    def take() -> str:
        nonlocal pos
        if pos >= len(tokens):
            raise _Unreadable("unexpected end")
        pos += 1
        return tokens[pos - 1]

    def binary(level: int) -> int:
        ops = (("|",), ("^",), ("&",), ("<<", ">>"), ("+", "-"))
        if level == len(ops):
            return unary()
        value = binary(level + 1)
        while peek() in ops[level]:
            op = take()
            right = binary(level + 1)
            if op in ("<<", ">>") and not 0 <= right < 64:
                raise _Unreadable("shift out of range")
            value = _apply(op, value, right)
        return value

    def unary() -> int:
        token = take()
        if token == "~":
            return ~unary() & _U64
        if token == "-":
            return -unary() & _U64
        if token == "+":
            return unary()
        if token == "(":
            value = binary(0)
            if take() != ")":
                raise _Unreadable("unbalanced parenthesis")
            return value
        if token.isdigit():
            return int(token) & _U64
        raise _Unreadable(token)

    result = binary(0)
    if pos != len(tokens):
        raise _Unreadable("trailing tokens")
    return result


def parse_format(text: str) -> tuple[tuple[str, int], ...]:
    """The ``(name, value)`` pairs of the gfp_flags ``__print_flags`` table, in order.

    Real sample (this machine, Linux 6.18, shortened to three entries):

    >>> fmt = ('print fmt: "page=%p pfn=0x%lx order=%d migratetype=%d gfp_flags=%s", '
    ...        'REC->pfn != -1UL ? REC->pfn : 0, REC->order, REC->migratetype, '
    ...        '(REC->gfp_flags) ? __print_flags(REC->gfp_flags, "|", '
    ...        '{( unsigned long)((( gfp_t)((((1UL))) << (5)))|(( gfp_t)((((1UL))) << (11)))), "GFP_ATOMIC"}, '
    ...        '{( unsigned long)(( gfp_t)((((1UL))) << (0))), "GFP_DMA"}, '
    ...        '{( unsigned long)(( gfp_t)((((1UL))) << (24))), "__GFP_NO_OBJ_EXT"}, '
    ...        '{ 0, ((void *)0) } ) : "none"')
    >>> parse_format(fmt)
    (('GFP_ATOMIC', 2080), ('GFP_DMA', 1), ('__GFP_NO_OBJ_EXT', 16777216))
    >>> parse_format("garbage")
    ()
    """
    if not isinstance(text, str):
        return ()
    start = text.find("__print_flags(REC->gfp_flags")
    if start < 0:
        return ()
    table: list[tuple[str, int]] = []
    for match in _ENTRY.finditer(text, start):
        try:
            table.append((match.group(2), _evaluate(match.group(1))))
        except (_Unreadable, RecursionError):
            continue
    return tuple(table)
