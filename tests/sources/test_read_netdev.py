import os
from pathlib import Path
import pytest
from minfree.proc.netdev import NetDevice
from minfree.sources.readers import read_netdevs
from minfree.sources.root import SystemRoot

READERS = Path(__file__).parent.parent / "fixtures" / "proc" / "readers"


def test_618_live_fixture():
    root = SystemRoot(READERS / "6.18-live")
    devices = {d.name: d for d in read_netdevs(root)}
    assert devices["eth0"] == NetDevice("eth0", 1400, None, "virtio_net", "up", False)
    assert devices["lo"].is_virtual and devices["lo"].driver is None and devices["lo"].mtu == 65536
    assert devices["ifb0"].speed_mbps is None and devices["ifb0"].operstate == "down"
    assert root.gaps == []


def test_rhel6_sosreport_real_symlinks_and_jumbo_mtu():
    devices = {d.name: d for d in read_netdevs(SystemRoot(READERS / "rhel6-2.6.32-sosreport"))}
    assert devices["eth0"] == NetDevice("eth0", 9000, 10000, "igb", "up", False)
    assert devices["lo"].is_virtual and devices["lo"].speed_mbps is None


def test_no_sys_class_net(tmp_path):
    root = SystemRoot(tmp_path)
    assert read_netdevs(root) is None and root.gaps == [("sys/class/net", "missing")]


@pytest.mark.live
def test_live_netdevs():
    devices = {d.name: d for d in read_netdevs(SystemRoot("/"))}
    assert set(devices) == set(os.listdir("/sys/class/net"))
    for name, device in devices.items():
        assert device.mtu == int(Path(f"/sys/class/net/{name}/mtu").read_text())
        assert device.is_virtual == (not os.path.exists(f"/sys/class/net/{name}/device"))
        if not device.is_virtual and os.path.islink(f"/sys/class/net/{name}/device/driver"):
            assert device.driver == os.path.basename(os.readlink(f"/sys/class/net/{name}/device/driver"))

