"""Questions asked of finished evidence and of the registry: what changed between two scans
(``diff``) and which catalog controls a policy's checks cover (``coverage``)."""
