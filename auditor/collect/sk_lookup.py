"""BPF ``sk_lookup`` programs attached to a network namespace (Linux 5.9+).

An ``sk_lookup`` program runs when the kernel looks up the socket for an incoming TCP connection or
UDP datagram, before the sockets' own addresses are consulted, and may hand the packet to any
socket of a SOCKMAP (``bpf_sk_assign``) whatever address and port it was sent to: a listener bound
to 127.0.0.1 then accepts connections sent to the namespace's outward addresses, as a transparent
socket does under a TPROXY rule.  Its address no longer bounds what reaches it.

Such a program can only be attached through a BPF link (``BPF_LINK_CREATE`` on a namespace file),
and a link lives as long as a descriptor of it or a pin in bpffs does; every link of the kernel is
listed by ``BPF_LINK_GET_NEXT_ID``, which needs CAP_SYS_ADMIN.  A link of type netns tells the
namespace (its inode) and the attach type.
"""

from __future__ import annotations

import errno
import os
import struct

# bpf(2): one number per architecture (asm/unistd.h)
SYS_BPF = {"x86_64": 321, "i386": 357, "i686": 357, "aarch64": 280, "arm64": 280, "riscv64": 280,
           "armv7l": 386, "armv6l": 386, "ppc64le": 361, "ppc64": 361, "s390x": 351, "loongarch64": 280}
BPF_OBJ_GET_INFO_BY_FD = 15
BPF_LINK_GET_FD_BY_ID = 30
BPF_LINK_GET_NEXT_ID = 31
BPF_LINK_TYPE_NETNS = 5
BPF_SK_LOOKUP = 36
BPF_LINK_TYPE_TCX = 11
BPF_TCX_INGRESS = 46
# struct bpf_link_info { u32 type, id, prog_id; union (8-aligned) { netns: { u32 netns_ino, attach_type } } }
LINK_INFO = struct.Struct("=IIIIII")
ATTR_SIZE = 128  # a zeroed union bpf_attr larger than any command's part used here


class SkLookupError(OSError):
    """The links could not be listed; its text says why."""


def _bpf(number: int, command: int, attr: bytes) -> tuple[int, bytes]:
    """The syscall's result and the attribute as the kernel left it (some commands answer in it)."""
    import ctypes  # only a live collection asks the kernel: an offline one never loads it (issue 16)

    libc = ctypes.CDLL(None, use_errno=True)
    buffer = ctypes.create_string_buffer(attr, ATTR_SIZE)
    result = libc.syscall(ctypes.c_long(number), ctypes.c_int(command), buffer, ctypes.c_uint(ATTR_SIZE))
    if result < 0:
        code = ctypes.get_errno()
        raise OSError(code, os.strerror(code))
    return int(result), buffer.raw


def _links() -> list[tuple[int, int, int, int, int]] | None:
    """(link id, link type, program id, first field of its union, attach type) of every BPF link of
    the kernel, whose union's first two fields are a netns link's inode and attach type and a tcx
    link's interface index and attach type; None when the kernel cannot list them (no bpf(2), no
    link listing: before Linux 5.8).  Raises SkLookupError when the links could not be listed."""
    number = SYS_BPF.get(os.uname().machine)
    if number is None:
        raise SkLookupError(errno.ENOSYS, f"bpf(2) has no known number on {os.uname().machine}")
    import ctypes  # as in _bpf: loaded only when the kernel is asked

    found: list[tuple[int, int, int, int, int]] = []
    link_id = 0
    while True:
        try:
            _result, answer = _bpf(number, BPF_LINK_GET_NEXT_ID, struct.pack("=III", link_id, 0, 0))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                return found  # the last link
            if exc.errno in (errno.ENOSYS, errno.EINVAL) and link_id == 0:
                return None  # no bpf(2), or a kernel that cannot list links (nor attach sk_lookup)
            raise SkLookupError(exc.errno, f"bpf BPF_LINK_GET_NEXT_ID: {exc.strerror}") from None
        link_id = struct.unpack_from("=I", answer, 4)[0]  # next_id: the kernel answers in the attribute
        try:
            descriptor, _attr = _bpf(number, BPF_LINK_GET_FD_BY_ID, struct.pack("=III", link_id, 0, 0))
        except OSError as exc:
            if exc.errno == errno.ENOENT:
                continue  # released since it was listed
            raise SkLookupError(exc.errno, f"bpf BPF_LINK_GET_FD_BY_ID {link_id}: {exc.strerror}") from None
        try:
            info = ctypes.create_string_buffer(LINK_INFO.size)
            _bpf(number, BPF_OBJ_GET_INFO_BY_FD,
                 struct.pack("=IIQ", descriptor, LINK_INFO.size, ctypes.addressof(info)))
        except OSError as exc:
            raise SkLookupError(exc.errno, f"bpf BPF_OBJ_GET_INFO_BY_FD of link {link_id}: {exc.strerror}") from None
        finally:
            os.close(descriptor)
        kind, _id, program, _pad, first, attach_type = LINK_INFO.unpack(info.raw)
        found.append((link_id, kind, program, first, attach_type))


def attached_here() -> list[tuple[int, int]] | None:
    """(link id, program id) of each sk_lookup program attached to the calling thread's network
    namespace; None when the kernel cannot have one (no bpf(2), no link listing: before Linux 5.8,
    older than sk_lookup).  Raises SkLookupError when the links could not be listed."""
    links = _links()
    if links is None:
        return None
    here = os.stat("/proc/thread-self/ns/net").st_ino
    return [(link_id, program) for link_id, kind, program, namespace, attach_type in links
            if kind == BPF_LINK_TYPE_NETNS and attach_type == BPF_SK_LOOKUP and namespace == here]


def tcx_ingress_indexes() -> set[int]:
    """The interface index of each tcx ingress link (Linux 6.6+): a BPF program that runs on what
    arrives on that interface, as a tc ingress filter does but without a qdisc, and may redirect it
    (bpf_redirect, bpf_redirect_peer: Cilium's data plane).  The kernel does not say which namespace
    the interface is in: an index names one in each namespace that has it.  Empty when the kernel
    cannot list links (no tcx either).  Raises SkLookupError when the links could not be listed."""
    return {index for _id, kind, _program, index, attach_type in _links() or []
            if kind == BPF_LINK_TYPE_TCX and attach_type == BPF_TCX_INGRESS and index}
