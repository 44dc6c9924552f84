"""Attestation: Ed25519 signatures over evidence and snapshots, PAdES signatures inside the PDF,
and the read-back that proves a PDF is exactly lbaudit's rendering of an evidence file."""
