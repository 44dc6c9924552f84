"""The hostile corpus: one module per class of defect a hostile review found (issue 8).

Every case asserts the exact status or exit code that proves lbaudit failed closed."""
