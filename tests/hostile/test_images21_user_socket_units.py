"""Hostile offline images: socket units of the user manager.

Every user's systemd (``user@UID.service``: at login, and at boot for a user with lingering on)
starts the socket units of the user unit search path (systemd.unit(5): /etc/systemd/user,
/usr/local/lib/systemd/user, /usr/lib/systemd/user) that ``systemctl --global enable`` linked into
a ``.wants/`` directory there, or that its default target pulls in.  A user socket may listen on
any address (ports from ``ip_unprivileged_port_start`` up without privilege).  lbaudit read only the
system manager's directories, so an image whose ``/etc/systemd/user/sockets.target.wants/`` enables
``ListenStream=0.0.0.0:8080`` for every user passed ``evaluate --root`` as having declared no
wildcard listener.  A user socket that nothing enables (it has ``WantedBy=``) is not counted, as
for the system manager, nor one whose address is a path (``%t/bus``: a unix socket).
"""

from __future__ import annotations

from pathlib import Path

from tests.hostile.test_offline_images import evaluate, link, listener_statuses, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

USER_UNITS = "usr/lib/systemd/user"
ETC_USER_UNITS = "etc/systemd/user"
WIDE_UNIT = "[Socket]\nListenStream=0.0.0.0:8080\n[Install]\nWantedBy=sockets.target\n"


def test_a_globally_enabled_user_socket_on_every_address_fails(image: Path) -> None:
    write(image, f"{USER_UNITS}/share.socket", WIDE_UNIT)
    link(image, f"{ETC_USER_UNITS}/sockets.target.wants/share.socket", f"/{USER_UNITS}/share.socket")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses.get("tcp 0.0.0.0:8080") == "fail", statuses
    subject = next(s for (rule, s) in findings if rule == "listeners" and s.startswith("tcp 0.0.0.0:8080"))
    assert f"/{USER_UNITS}/share.socket" in findings[("listeners", subject)]["message"] + subject
    assert code == 1


def test_a_static_user_socket_and_a_drop_in_of_one_count(image: Path) -> None:
    write(image, f"{ETC_USER_UNITS}/static.socket", "[Socket]\nListenStream=127.0.0.1:8090\n")
    write(image, f"{ETC_USER_UNITS}/static.socket.d/10-wide.conf", "[Socket]\nListenDatagram=9000\n")
    code, findings = evaluate(image)
    statuses = listener_statuses(findings)
    assert statuses["tcp 127.0.0.1:8090"] == "pass"
    assert statuses.get("udp [::]:9000") == "fail", statuses
    assert code == 1


def test_control_disabled_masked_and_unix_user_sockets_do_not_listen(image: Path) -> None:
    write(image, f"{USER_UNITS}/share.socket", WIDE_UNIT)  # installable, never enabled
    write(image, f"{USER_UNITS}/masked.socket", "[Socket]\nListenStream=0.0.0.0:8081\n")
    link(image, f"{ETC_USER_UNITS}/masked.socket", "/dev/null")
    write(image, f"{USER_UNITS}/dbus.socket", "[Socket]\nListenStream=%t/bus\n")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0
