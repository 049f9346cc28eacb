from pathlib import Path
from minfree.sources.root import SystemRoot
from minfree.proc.sysctl_files import BootSetting
from minfree.sources.readers import read_boot_settings, sysctl_config_files

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


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
    assert sysctl_config_files(root) == ["etc/sysctl.d/50-default.conf", "run/sysctl.d/60-run.conf", "etc/sysctl.conf"]
    settings = read_boot_settings(root)
    assert settings["vm.swappiness"] == BootSetting("vm.swappiness", "10", "etc/sysctl.d/50-default.conf", 1)
    assert settings["vm.min_free_kbytes"] == BootSetting("vm.min_free_kbytes", "1310720", "etc/sysctl.conf", 1)
    assert root.gaps == []


def test_618_live_fixture_and_rhel6():
    settings = read_boot_settings(SystemRoot(READERS / "6.18-live"))
    assert settings["kernel.pid_max"].value == "4194304"
    rhel6 = read_boot_settings(SystemRoot(READERS / "rhel6-2.6.32-sosreport"))
    assert rhel6["vm.min_free_kbytes"] == BootSetting("vm.min_free_kbytes", "1310720", "etc/sysctl.conf", 5)

