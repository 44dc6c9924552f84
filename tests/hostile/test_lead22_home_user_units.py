"""Hostile offline images: socket units a user enabled in their own home directory.

``systemctl --user enable dev.socket`` puts the unit's link in ``~/.config/systemd/user/
sockets.target.wants/``, and the unit itself may live in ``~/.config/systemd/user`` or
``~/.local/share/systemd/user``.  That user's systemd (at login, at boot when the user lingers)
starts it, on any address.  lbaudit read only the user unit directories shared by every user, so
an image whose user had a socket on 0.0.0.0:9003 in their home passed ``evaluate --root``.  Now
the home directories of /etc/passwd are read too, in the places systemd.unit(5) gives them.
"""

from __future__ import annotations

from pathlib import Path

from auditor.collect.systemd_sockets import user_unit_dirs
from tests.hostile.test_offline_images import evaluate, link, listener_statuses, unit, write
from tests.hostile.test_offline_images import image as image  # noqa: F401 - the fixture, used by name

PASSWD = ("root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n"
          "alice:x:1000:1000:Alice:/home/alice/:/bin/bash\n")
CONFIG = "home/alice/.config/systemd/user"
DEV = "tcp 0.0.0.0:9003"


def test_a_socket_unit_enabled_in_a_users_home_listens(image: Path) -> None:
    write(image, "etc/passwd", PASSWD)
    write(image, f"{CONFIG}/dev.socket", unit("0.0.0.0:9003"))
    link(image, f"{CONFIG}/sockets.target.wants/dev.socket", "/home/alice/.config/systemd/user/dev.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass", DEV: "fail"}
    assert code == 1


def test_a_unit_in_local_share_enabled_from_config_listens(image: Path) -> None:
    write(image, "etc/passwd", PASSWD)
    write(image, "home/alice/.local/share/systemd/user/dev.socket", unit("0.0.0.0:9003"))
    link(image, f"{CONFIG}/default.target.wants/dev.socket", "/home/alice/.local/share/systemd/user/dev.socket")
    code, findings = evaluate(image)
    assert listener_statuses(findings)[DEV] == "fail"


def test_roots_home_is_read_too(image: Path) -> None:
    write(image, "etc/passwd", PASSWD)
    write(image, "root/.config/systemd/user/dev.socket", unit("0.0.0.0:9003", install=None))  # static
    code, findings = evaluate(image)
    assert listener_statuses(findings)[DEV] == "fail"


def test_control_a_unit_in_a_home_that_is_not_enabled_does_not_listen(image: Path) -> None:
    write(image, "etc/passwd", PASSWD)
    write(image, f"{CONFIG}/dev.socket", unit("0.0.0.0:9003"))
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}
    assert code == 0


def test_control_a_home_no_user_of_passwd_has_is_not_read(image: Path) -> None:
    write(image, "etc/passwd", PASSWD)
    write(image, "home/bob/.config/systemd/user/dev.socket", unit("0.0.0.0:9003", install=None))
    code, findings = evaluate(image)
    assert listener_statuses(findings) == {"tcp 127.0.0.1:8081": "pass"}


def test_a_passwd_that_cannot_be_read_leaves_the_listeners_not_reviewed(image: Path) -> None:
    (image / "etc/passwd").mkdir(parents=True)
    code, findings = evaluate(image)
    assert code == 3
    assert any(f["status"] == "not_reviewed" and "/etc/passwd" in f["message"] for f in findings.values())


def test_a_users_directories_take_their_places_in_the_search_path() -> None:
    dirs = user_unit_dirs("/home/alice/")
    assert dirs[:3] == ("/home/alice/.config/systemd/user.control", "/home/alice/.config/systemd/user",
                        "/etc/xdg/systemd/user")
    assert dirs.index("/home/alice/.local/share/systemd/user") == dirs.index("/run/systemd/user") + 1
    assert user_unit_dirs("/")[0] == "/.config/systemd/user.control"
