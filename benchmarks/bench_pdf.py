#!/usr/bin/env python3
"""How long does a PDF attestation of a large run take?  Time it with 5,000 failing findings.

Builds evidence through the real engine (the fixture checks of tests/evidence_fixtures.py, one
failing finding per wildcard listener), then renders the PDF several times and reports the median,
the page count and the size, and checks that two renderings are byte-identical.

    python3 benchmarks/bench_pdf.py [--findings 5000] [--runs 3] [--out /tmp/attestation.pdf]
"""

from __future__ import annotations

import argparse
import io
import statistics
import sys
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from pypdf import PdfReader  # noqa: E402  (after the path set-up, like the imports below)

from auditor.report import ReportContext  # noqa: E402
from auditor.report.pdf import render_pdf  # noqa: E402
from auditor.storage.evidence import evidence_bytes  # noqa: E402
from tests.evidence_fixtures import make_evidence  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--findings", type=int, default=5000, help="failing findings to add (default 5000)")
    parser.add_argument("--runs", type=int, default=3, help="renderings to time (default 3)")
    parser.add_argument("--out", type=Path, help="also write the PDF here, to look at it")
    args = parser.parse_args()

    start = time.perf_counter()
    evidence = make_evidence(extra_listeners=args.findings)
    raw = evidence_bytes(evidence)
    built = time.perf_counter() - start
    context = ReportContext(evidence_bytes=raw, evidence_path="evidence.json")
    failing = sum(1 for f in evidence.result.findings if f.status.value == "fail")

    timings, outputs = [], []
    for _ in range(max(1, args.runs)):
        start = time.perf_counter()
        outputs.append(render_pdf(evidence, context))
        timings.append(time.perf_counter() - start)
    pdf = outputs[0]
    pages = len(PdfReader(io.BytesIO(pdf)).pages)
    identical = all(out == pdf for out in outputs)

    print(f"findings:       {len(evidence.result.findings)} ({failing} failing)")
    print(f"evidence:       {len(raw) / 1e6:.1f} MB, built in {built:.2f} s")
    print(f"render:         median {statistics.median(timings):.2f} s over {len(timings)} runs "
          f"(min {min(timings):.2f}, max {max(timings):.2f})")
    print(f"pdf:            {pages} pages, {len(pdf) / 1e6:.2f} MB ({len(pdf) / max(1, pages) / 1e3:.1f} kB/page)")
    print(f"deterministic:  {'yes' if identical else 'NO: renderings differ'}")
    if args.out:
        args.out.write_bytes(pdf)
        print(f"written:        {args.out}")
    return 0 if identical else 1


if __name__ == "__main__":
    sys.exit(main())
