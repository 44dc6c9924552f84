"""The x32 ABI as a kernel's configuration and command line leave it (auditor.domain.x32_abi)."""

from __future__ import annotations

import pytest

from auditor.domain.x32_abi import KernelX32, cmdline_x32, kstrtobool, read_kernel_config, x32_usable


@pytest.mark.parametrize("value, read", [
    ("y", True), ("Y", True), ("1", True), ("t", True), ("yes", True), ("on", True), ("ON", True),
    ("n", False), ("N", False), ("0", False), ("f", False), ("no", False), ("off", False), ("Of", False),
    ("", None), (None, None), ("o", None), ("x", None), ("2", None), (" y", None),
])
def test_kstrtobool_reads_the_first_character_as_the_kernel_does(value, read):
    assert kstrtobool(value) is read


@pytest.mark.parametrize("cmdline, value", [
    ("quiet", None),
    ("syscall.x32=n", False),
    ("syscall.x32=n syscall.x32=y", True),  # each occurrence is applied in turn: the last decides
    ("syscall.x32=y syscall.x32=bogus", True),  # a value kstrtobool refuses is not applied
    ("syscall.x32", None),  # without a value the kernel refuses it
    ('"syscall.x32=off"', False),
    ("quiet -- syscall.x32=n", None),  # after -- the words are init's
])
def test_the_last_accepted_syscall_x32_of_a_command_line_decides(cmdline, value):
    assert cmdline_x32(cmdline) is value


@pytest.mark.parametrize("config, kernel", [
    ("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n", KernelX32(True, False, False, "CONFIG_X86_X32_ABI=y")),
    ("CONFIG_X86_64=y\nCONFIG_X86_X32=y\n", KernelX32(True, False, False, "CONFIG_X86_X32=y")),
    ("CONFIG_X86_64=y\n# CONFIG_X86_X32_ABI is not set\n",
     KernelX32(False, False, False, "CONFIG_X86_X32_ABI is not set")),
    ("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\nCONFIG_X86_X32_DISABLED=y\n",
     KernelX32(True, True, True, "CONFIG_X86_X32_ABI=y, CONFIG_X86_X32_DISABLED=y (off unless syscall.x32=y)")),
    ("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n# CONFIG_X86_X32_DISABLED is not set\n",
     KernelX32(True, False, True, "CONFIG_X86_X32_ABI=y, CONFIG_X86_X32_DISABLED not set (on unless syscall.x32=n)")),
    ("CONFIG_ARM64=y\n", KernelX32(False, False, False, "not a kernel for x86_64 (no CONFIG_X86_64=y)")),
    ("CONFIG_X86_64=y\n", KernelX32(None, False, False, "a kernel for x86_64 whose configuration names neither "
                                                        "CONFIG_X86_X32_ABI nor CONFIG_X86_X32")),
    ("hello\n", KernelX32(None, False, False, "it holds no CONFIG_ line (not a kernel configuration)")),
])
def test_a_kernel_configuration_says_whether_x32_is_built_and_how_it_is_turned_off(config, kernel):
    assert read_kernel_config(config) == kernel


def test_syscall_x32_counts_only_on_a_kernel_that_has_the_parameter():
    upstream = read_kernel_config("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\n")
    debian = read_kernel_config("CONFIG_X86_64=y\nCONFIG_X86_X32_ABI=y\nCONFIG_X86_X32_DISABLED=y\n")
    assert [x32_usable(upstream, v) for v in (None, False, True)] == [True, True, True]
    assert [x32_usable(debian, v) for v in (None, False, True)] == [False, False, True]
    assert x32_usable(read_kernel_config("CONFIG_X86_64=y\n"), None) is None
