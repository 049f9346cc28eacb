from pathlib import Path

from hypothesis import given, strategies as st

from minfree.sources.root import SystemRoot
from minfree.proc.sysctl_files import (
    BootSetting, SysctlSetting, boot_files, normalize_key, parse_sysctl_conf, read_boot_settings,
)

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_syntax_variants():
    conf = parse_sysctl_conf(
        "  # comment\n; also comment\n\nvm.a=1\nvm.b =2\n\tvm.c\t=\t3 \n-vm.d = 4\n- vm.e = 5\n"
        "vm/f = 6\nnet.ipv4.conf.eth0/1.rp_filter = 1\n=7\nno equals\nkey with space = 1\nvm.g =\n"
    )
    assert conf.settings == (
        SysctlSetting(4, "vm.a", "1"), SysctlSetting(5, "vm.b", "2"), SysctlSetting(6, "vm.c", "3"),
        SysctlSetting(7, "vm.d", "4", True), SysctlSetting(8, "vm.e", "5", True),
        SysctlSetting(9, "vm.f", "6"), SysctlSetting(10, "net.ipv4.conf.eth0/1.rp_filter", "1"),
        SysctlSetting(14, "vm.g", ""),
    )
    assert conf.malformed == (11, 12, 13)


def test_normalize_slash_keys_swap_literal_dots():
    assert normalize_key("vm/min_free_kbytes") == "vm.min_free_kbytes"
    assert normalize_key("net.ipv4.conf.eth0/1.rp_filter") == "net.ipv4.conf.eth0/1.rp_filter"


def test_boot_order_masking_and_sysctl_conf_last(tmp_path):
    for rel, text in {
        "usr/lib/sysctl.d/50-default.conf": "vm.swappiness = 60\nvm.min_free_kbytes = 1000\n",
        "etc/sysctl.d/50-default.conf": "vm.swappiness = 10\n",  # masks the /usr/lib one
        "run/sysctl.d/60-run.conf": "vm.min_free_kbytes = 2000\n",
        "etc/sysctl.d/README": "vm.swappiness = 99\n",  # not *.conf
        "etc/sysctl.conf": "vm.min_free_kbytes = 1310720\n",
    }.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    root = SystemRoot(tmp_path)
    assert boot_files(root) == ["etc/sysctl.d/50-default.conf", "run/sysctl.d/60-run.conf", "etc/sysctl.conf"]
    settings = read_boot_settings(root)
    assert settings["vm.swappiness"] == BootSetting("vm.swappiness", "10", "etc/sysctl.d/50-default.conf", 1)
    assert settings["vm.min_free_kbytes"] == BootSetting("vm.min_free_kbytes", "1310720", "etc/sysctl.conf", 1)
    assert root.gaps == []


def test_618_live_fixture_and_rhel6():
    settings = read_boot_settings(SystemRoot(READERS / "6.18-live"))
    assert settings["kernel.pid_max"].value == "4194304"
    rhel6 = read_boot_settings(SystemRoot(READERS / "rhel6-2.6.32-sosreport"))
    assert rhel6["vm.min_free_kbytes"] == BootSetting("vm.min_free_kbytes", "1310720", "etc/sysctl.conf", 5)


@given(st.text())
def test_never_raises(text):
    parse_sysctl_conf(text)
