"""Parsers of Windows and macOS probe outputs: what they read, in every encoding and language a
capture produces, and what they refuse (with a reason a gap can carry)."""

from __future__ import annotations

import codecs

import pytest

from auditor.collect.platforms import macos, windows
from auditor.collect.platforms.text import UndecodableOutput, decode_output
from auditor.domain.platform_audit import WFP_CONNECTION_GUID, bsm_network_audited

NETSH_EN = "\r\nProtocol tcp Dynamic Port Range\r\n---------------------------------\r\nStart Port      : 49152\r\nNumber of Ports : 16384\r\n"
NETSH_FR = "\nPlage de ports dynamiques du protocole tcp\n----------\nPort de démarrage   : 10000\nNombre de ports     : 55536\n"


@pytest.mark.parametrize("encode", [
    lambda t: t.encode("utf-8"),
    lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
    lambda t: codecs.BOM_UTF16_LE + t.encode("utf-16-le"),
    lambda t: codecs.BOM_UTF16_BE + t.encode("utf-16-be"),
    lambda t: t.encode("utf-16-le"),  # Out-File -Encoding Unicode without its BOM
    lambda t: t.encode("cp850"),  # the console's OEM code page (Western Europe)
    lambda t: t.encode("cp437", errors="replace"),  # the US one
], ids=["utf8", "utf8-bom", "utf16le-bom", "utf16be-bom", "utf16le", "cp850", "cp437"])
def test_netsh_french_reads_the_same_numbers_in_every_encoding(encode):
    decoded = decode_output(encode(NETSH_FR.replace("\n", "\r\n")))
    assert "\r" not in decoded.text
    assert windows.parse_dynamicport(decoded.text) == (10000, 55536)


def test_netsh_english_and_french_labels_give_start_and_count_by_position():
    assert windows.parse_dynamicport(decode_output(NETSH_EN.encode()).text) == (49152, 16384)
    assert windows.parse_dynamicport(NETSH_FR) == (10000, 55536)


@pytest.mark.parametrize("text, problem", [
    ("Start Port : 49152\n", "found 1"),
    ("The requested operation requires elevation.\n", "found 0"),
    ("Start Port : 60000\nNumber of Ports : 16384\n", "do not fit below 65535"),
    ("Start Port : 0\nNumber of Ports : 100\n", "not a port number"),
])
def test_netsh_output_that_is_not_a_range_is_refused(text, problem):
    with pytest.raises(windows.ProbeParseError, match=problem):
        windows.parse_dynamicport(text)


def test_binary_or_nul_ridden_output_is_not_text():
    with pytest.raises(UndecodableOutput):
        decode_output(bytes(range(256)) * 4)
    with pytest.raises(UndecodableOutput):
        decode_output(codecs.BOM_UTF16_LE + b"\x00\xd8")  # a lone surrogate after the BOM


NETSTAT_DE = """
Aktive Verbindungen

  Proto  Lokale Adresse         Remoteadresse          Status           PID
  TCP    0.0.0.0:3389           0.0.0.0:0              ABHÖREN         1096
  TCP    [::]:3389              [::]:0                 ABHÖREN         1096
  TCP    10.0.0.15:50211        20.42.65.92:443        WARTEND         0
  TCP    10.0.0.15:50212        20.42.65.92:443        HERGESTELLT     2288
  TCP    0.0.0.0:49700          0.0.0.0:0              BOUND           2288
  UDP    *:5355                 *:*                                    1500
  UDP    0.0.0.0:5353           *:*                                    1500
"""


def test_netstat_listeners_are_told_by_the_foreign_address_not_the_localised_state():
    table = windows.parse_netstat(decode_output(NETSTAT_DE.encode("cp850")).text)
    listed = [(s.protocol, s.family, s.address, s.port, s.pid) for s in table.listeners]
    assert listed == [("tcp", "ipv4", "0.0.0.0", 3389, 1096), ("tcp", "ipv6", "::", 3389, 1096),
                      ("udp", "ipv4", "0.0.0.0", 5353, 1500)]
    # "*:5355" is not an address:port netstat -ano prints for a bound socket: reported, not guessed
    assert len(table.bad_lines) == 1 and "*:5355" in table.bad_lines[0]
    # WARTEND (German TIME_WAIT) is counted by its PID 0, and the count says it is not exact
    assert (table.time_wait, table.time_wait_exact) == (1, False)


def test_netstat_with_no_rows_is_refused():
    with pytest.raises(windows.ProbeParseError, match="no TCP or UDP rows"):
        windows.parse_netstat("Active Connections\n\n  Proto  Local Address\n")


def test_tasklist_reads_name_and_pid_columns_with_a_localised_memory_column():
    names, bad = windows.parse_tasklist('"Processus inactif du système","0","Services","0","8 Ko"\n'
                                        '"svchost.exe","1096","Services","0","18 420 Ko"\n"broken"\n')
    assert names == {0: "Processus inactif du système", 1096: "svchost.exe"}
    assert bad == ["row 3: fewer than two columns"]


def test_reg_query_reads_only_the_values_of_the_key_itself():
    text = ("\r\nHKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\r\n"
            "    NV Hostname    REG_SZ    HOST\r\n    TcpTimedWaitDelay    REG_DWORD    0x1e\r\n\r\n"
            "HKEY_LOCAL_MACHINE\\SYSTEM\\CurrentControlSet\\Services\\Tcpip\\Parameters\\Winsock\r\n"
            "    MaxUserPort    REG_DWORD    0xfffe\r\n")
    values = windows.parse_reg_query(decode_output(text.encode()).text)
    assert values == {"NV Hostname": ("REG_SZ", "HOST"), "TcpTimedWaitDelay": ("REG_DWORD", "0x1e")}
    assert windows.registry_dword("TcpTimedWaitDelay", values["TcpTimedWaitDelay"]) == 30
    with pytest.raises(windows.ProbeParseError, match="not a REG_DWORD"):
        windows.registry_dword("NV Hostname", values["NV Hostname"])
    with pytest.raises(windows.ProbeParseError, match="is not in the output"):
        windows.parse_reg_query("ERROR: The system was unable to find the specified registry key or value.\n")


def test_auditpol_backup_is_read_by_guid_and_setting_value_in_any_language():
    text = ("Nom de l'ordinateur,Cible de stratégie,Sous-catégorie,GUID de sous-catégorie,Paramètre d'inclusion,"
            "Paramètre d'exclusion,Valeur du paramètre\n"
            "SRV,Système,Connexion de la plateforme de filtrage,{0cce9226-69ae-11d9-bed3-505054503030},Succès,,1\n"
            "SRV,S-1-5-21-1-2-3-1001,Connexion de la plateforme de filtrage,{0CCE9226-69AE-11D9-BED3-505054503030},,,0\n"
            ",,Option:CrashOnAuditFail,,Désactivé,,0\n"
            "SRV,Système,Ouvrir la session,{0CCE9215-69AE-11D9-BED3-505054503030},Succès,,7\n")
    rows, bad, machines = windows.parse_auditpol_backup(text)
    assert [(r.guid, r.setting_value) for r in rows] == [(WFP_CONNECTION_GUID, 1)]  # per-user row left out
    assert machines == {"SRV"}
    assert bad == ["row 5: Setting Value '7' is not 0-4"]
    with pytest.raises(windows.ProbeParseError):
        windows.parse_auditpol_backup("Machine Name,Policy Target\n")


def test_windows_build_and_host_name():
    assert windows.parse_ver("\r\nMicrosoft Windows [version 10.0.20348.2340]\r\n") == "10.0.20348.2340"
    assert windows.parse_hostname("WIN-SRV01\r\n") == "WIN-SRV01"
    with pytest.raises(windows.ProbeParseError):
        windows.parse_hostname("bad host\x07\n")


LSOF_TCP = """COMMAND     PID   USER   FD   TYPE             DEVICE SIZE/OFF NODE NAME
launchd       1   root   12u  IPv6 0x01      0t0  TCP *:22 (LISTEN)
launchd       1   root   13u  IPv4 0x02      0t0  TCP *:22 (LISTEN)
cupsd       512   root    5u  IPv6 0x03      0t0  TCP [::1]:631 (LISTEN)
Code\\x20Hel  77  alice   6u  IPv4 0x04      0t0  TCP 127.0.0.1:9000 (LISTEN)
garbage line
"""


def test_lsof_star_is_the_wildcard_of_the_socket_family():
    table = macos.parse_lsof(LSOF_TCP, "tcp")
    assert [(s.command, s.family, s.address, s.port) for s in table.sockets] == [
        ("launchd", "ipv6", "::", 22), ("launchd", "ipv4", "0.0.0.0", 22), ("cupsd", "ipv6", "::1", 631),
        ("Code Hel", "ipv4", "127.0.0.1", 9000)]
    assert table.bad_lines == ["line 6: not an lsof -nP socket row: 'garbage line'"]


def test_lsof_udp_leaves_out_connected_sockets():
    table = macos.parse_lsof("x 1 u 3u IPv4 0x1 0t0 UDP 10.0.0.2:5000->1.1.1.1:53\n"
                             "y 2 u 4u IPv4 0x2 0t0 UDP *:5353\n", "udp")
    assert [(s.address, s.port) for s in table.sockets] == [("0.0.0.0", 5353)]


def test_sysctl_sw_vers_launchctl_and_audit_control():
    values = macos.parse_sysctl("net.inet.ip.portrange.first: 49152\nnet.inet.tcp.msl: 15000\n")
    assert values == {"net.inet.ip.portrange.first": "49152", "net.inet.tcp.msl": "15000"}
    assert macos.parse_sw_vers("ProductName:\tmacOS\nProductVersion:\t14.1.1\nBuildVersion:\t23B81\n")["BuildVersion"] == "23B81"
    assert macos.parse_launchctl('Could not find service "com.apple.auditd" in domain for system\n113\n')[0] == 113
    with pytest.raises(macos.ProbeParseError, match="exit code"):
        macos.parse_launchctl("system/com.apple.auditd = {\n")  # truncated: the exit code line is missing
    assert macos.parse_audit_control("# c\ndir:/var/audit\nflags:lo,aa,+nt\nnaflags:lo\n") == ["lo", "aa", "+nt"]
    with pytest.raises(macos.ProbeParseError, match="no flags"):
        macos.parse_audit_control("dir:/var/audit\n")


@pytest.mark.parametrize("flags, audited", [
    (["lo", "aa"], False), (["lo", "nt"], True), (["+nt"], True), (["-nt"], False), (["all"], True),
    (["all", "^nt"], False), (["nt", "^+nt"], False),
])
def test_the_network_class_counts_only_when_successes_are_audited(flags, audited):
    assert bsm_network_audited(flags) is audited
