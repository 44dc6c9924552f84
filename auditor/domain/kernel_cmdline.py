"""The running kernel's command line (/proc/cmdline) as the kernel itself splits it (pure).

The kernel reads its parameters with parse_args() and next_arg() (kernel/params.c, lib/cmdline.c):
words are separated by white space (isspace: space, \\t, \\n, \\v, \\f, \\r) outside double quotes, a
word is ``param`` or ``param=value``, and the quotes are removed: ``"a=b c"`` and ``a="b c"`` both
give ``a`` = ``b c``.  A word ``--`` ends the kernel's parameters; what follows is init's.  Every
occurrence of a parameter is handed over in turn, so for the ones applied as they come (``audit=``,
``sysctl.*``) the last one decides.
"""

from __future__ import annotations

KERNEL_CMDLINE = "/proc/cmdline"
_SPACES = " \t\n\v\f\r"


def kernel_parameters(cmdline: str) -> list[tuple[str, str | None]]:
    """The kernel's parameters, in order: ``(param, value)``, value None for a word without ``=``.
    Stops at ``--`` (the arguments after it are init's)."""
    found: list[tuple[str, str | None]] = []
    position = 0
    length = len(cmdline)
    while True:
        while position < length and cmdline[position] in _SPACES:
            position += 1
        if position >= length:
            return found
        # next_arg(): a word runs to white space outside quotes; the first "=" splits it
        quoted = cmdline[position] == '"'
        start = position + quoted
        in_quote = quoted
        end = start
        equals = -1
        while end < length and (in_quote or cmdline[end] not in _SPACES):
            if equals < 0 and cmdline[end] == "=" and end > start:
                equals = end
            if cmdline[end] == '"':
                in_quote = not in_quote
            end += 1
        word_end = end
        if equals < 0:
            param, value = cmdline[start:word_end], None
            if quoted and param.endswith('"'):
                param = param[:-1]
        else:
            param, value = cmdline[start:equals], cmdline[equals + 1:word_end]
            if value.startswith('"'):
                value = value[1:]
                if value.endswith('"'):
                    value = value[:-1]
            elif quoted and value.endswith('"'):
                value = value[:-1]
        if value is None and param == "--":
            return found
        found.append((param, value))
        position = end + 1
