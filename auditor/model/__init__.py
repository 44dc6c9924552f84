"""Typed core of lbaudit: policies, host facts, results and controls.  No I/O happens here."""
