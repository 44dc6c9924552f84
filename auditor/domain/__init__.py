"""The floor below collectors and checks: pure knowledge both need, no I/O.

What an audit rule means (auditctl 3.x's grammar, its tables, augenrules' ordering), how sysctl keys
are written, globbed and in what order the configuration files apply, and which addresses a socket
accepts.  A collector uses it to read raw text into facts; a check uses it to interpret those facts;
neither imports the other.  Nothing here touches a host: callers pass the text in.
"""
