"""`schedule install --randomized-delay 00000000000000000000000001h` was refused as "longer than
systemd can hold": the check counted the leading zeros as digits (more than 20: past 2**64).
systemd reads the number in base 10 as strtoll does, zeros and all, so this is one hour: it is
written now, and a number whose significant digits are past systemd's range is still refused."""

from __future__ import annotations

from tests.schedule.conftest import install_into_image, make_image_root, tree


def test_leading_zeros_are_not_length(tmp_path):
    root = make_image_root(tmp_path)
    result = install_into_image(root, "--randomized-delay", "00000000000000000000000001h")
    assert result.returncode == 0, result.stderr
    timer = (root / "etc/systemd/system/lbaudit-scan.timer").read_text(encoding="utf-8")
    assert "RandomizedDelaySec=00000000000000000000000001h\n" in timer


def test_a_delay_past_systemds_range_is_still_refused(tmp_path):
    root = make_image_root(tmp_path)
    before = tree(root)
    result = install_into_image(root, "--randomized-delay", "000" + "1" * 21 + "us")
    assert result.returncode == 2 and "longer than systemd can hold" in result.stderr, result.stderr
    assert tree(root) == before
