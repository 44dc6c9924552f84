"""Windows and macOS hosts: the probes lbaudit runs there, their parsers, and how a set of probe
outputs becomes a :class:`~auditor.model.facts.HostSnapshot`.

One set of parsers serves both ways in: a bundle captured on the host (``lbaudit capture`` prints
the script, ``lbaudit collect --replay DIR`` reads the directory it wrote) and native collection
on the host itself (:mod:`.native`), which runs the same probes and feeds their outputs through
the same code.  Parsers key on positions and numbers, never on words the OS localises.
"""
