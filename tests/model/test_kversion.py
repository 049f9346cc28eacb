"""kversion: release parsing and release discovery in real log lines."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from minfree.model.kversion import KernelVersion, parse_release, release_from_line


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("4.9.0-5-amd64", KernelVersion(4, 9, 0, "4.9.0-5-amd64", None)),
        ("2.6.32-642.6.2.el6.x86_64", KernelVersion(2, 6, 32, "2.6.32-642.6.2.el6.x86_64", "rhel6")),
        ("3.10.0-327.el7.x86_64", KernelVersion(3, 10, 0, "3.10.0-327.el7.x86_64", "rhel7")),
        ("4.18.0-305.el8.x86_64", KernelVersion(4, 18, 0, "4.18.0-305.el8.x86_64", "rhel8")),
        ("4.4.49-hotplug19-default", KernelVersion(4, 4, 49, "4.4.49-hotplug19-default", "suse")),
        ("4.12.0-rc3-android-x86", KernelVersion(4, 12, 0, "4.12.0-rc3-android-x86", "android")),
        ("2.6.18.2", KernelVersion(2, 6, 18, "2.6.18.2", None)),
        ("6.18.44-fc-v669", KernelVersion(6, 18, 44, "6.18.44-fc-v669", None)),
        ("4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2", KernelVersion(4, 9, 65, "4.9.0-5-amd64", None)),
    ],
)
def test_parse_release(text: str, expected: KernelVersion) -> None:
    assert parse_release(text) == expected


@pytest.mark.parametrize("text", ["", "linux", "v4.9", ".4.9", "4", "abc 4.9.1"])
def test_parse_release_rejects_non_versions(text: str) -> None:
    assert parse_release(text) is None


def test_versions_order_by_number() -> None:
    assert parse_release("4.9.0") < parse_release("4.10.0") < parse_release("5.4.286")


# Lines from /work/shared/corpus/logs (file named in the comment).
@pytest.mark.parametrize(
    ("line", "release", "base"),
    [
        # 006-ceph-devel-5.4.26
        ("[  785.581211] CPU: 3 PID: 332 Comm: kworker/3:2 Not tainted 5.4.26 #4", "5.4.26", (5, 4, 26)),
        # 009-linux-mm-4.12-ppc64
        ("CPU: 1 PID: 6225 Comm: gcc Not tainted 4.12.0-rc2 #1", "4.12.0-rc2", (4, 12, 0)),
        # 014-gh-earlyoom-220-5.9
        (
            "[21161.092848] kernel: CPU: 5 PID: 84786 Comm: earlyoom Not tainted 5.9.0-0.rc4.5.fc34.x86_64+debug #1",
            "5.9.0-0.rc4.5.fc34.x86_64+debug",
            (5, 9, 0),
        ),
        # 015-gh-sof-5000-6.9 (build-id hash after the build number)
        (
            "[ 1976.217668] CPU: 3 PID: 11754 Comm: perf Not tainted 6.9.0-rc7-g4157e5c9501e-dirty #1 47154153e3152498d7551147b11cdd2fdbee3ec5",
            "6.9.0-rc7-g4157e5c9501e-dirty",
            (6, 9, 0),
        ),
        # 022-gh-openzfs-spl-217-3.8
        ("Pid: 31170, comm: splat Tainted: P         C O 3.8.0-1-mainline #1", "3.8.0-1-mainline", (3, 8, 0)),
        # 024-gh-openzfs-zfs-465-3.1
        (
            "[128413.784001] Pid: 1132, comm: z_rd_int/2 Tainted: P            3.1.1-2.fc16.x86_64 #1",
            "3.1.1-2.fc16.x86_64",
            (3, 1, 1),
        ),
        # 025-gh-dcache-3787-4.9-debian: upstream patch level from the build string
        (
            "[73797.116757] CPU: 8 PID: 0 Comm: swapper/8 Tainted: G             L  4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2",
            "4.9.0-5-amd64 #1 Debian 4.9.65-3+deb9u2",
            (4, 9, 65),
        ),
        # 030-gh-raspberrypi-3288-4.19
        (
            "[  143.156324] CPU: 0 PID: 0 Comm: swapper/0 Tainted: G         C        4.19.75-v7l+ #1270",
            "4.19.75-v7l+",
            (4, 19, 75),
        ),
        # 036-linux-mm-4.4-sles
        (
            "[    2.315101] CPU: 0 PID: 0 Comm: swapper/0 Tainted: G        W          4.4.49-hotplug19-default #1",
            "4.4.49-hotplug19-default",
            (4, 4, 49),
        ),
        ("Linux version 5.4.0-42-generic (buildd@lgw01-amd64-039) (gcc version 9.3.0) #46-Ubuntu SMP", "5.4.0-42-generic", (5, 4, 0)),
        (
            "Linux version 4.9.0-5-amd64 (debian-kernel@lists.debian.org) (gcc version 6.3.0 20170516 (Debian 6.3.0-18) ) #1 SMP Debian 4.9.65-3+deb9u2 (2018-01-04)",
            "4.9.0-5-amd64 #1 SMP Debian 4.9.65-3+deb9u2",
            (4, 9, 65),
        ),
    ],
)
def test_release_from_line(line: str, release: str, base: tuple[int, int, int]) -> None:
    found = release_from_line(line)
    assert found == release
    parsed = parse_release(found)
    assert parsed is not None and parsed.base == base


@pytest.mark.parametrize(
    "line",
    [
        "[111775.578315] CPU: 17 PID: 1652 Comm: kworker/17:1H Tainted: G",  # wrapped header, 001
        "swapper/0: page allocation failure: order:0, mode:0x2080020(GFP_ATOMIC)",
        "",
    ],
)
def test_release_from_line_without_release(line: str) -> None:
    assert release_from_line(line) is None


@given(st.text(max_size=300))
def test_parsers_never_raise(text: str) -> None:
    found = release_from_line(text)
    assert found is None or parse_release(found) is not None
    parsed = parse_release(text)
    assert parsed is None or parsed.major >= 0
