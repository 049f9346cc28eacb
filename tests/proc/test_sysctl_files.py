from hypothesis import given, strategies as st
from minfree.proc.sysctl_files import SysctlSetting, normalize_key, parse_sysctl_conf



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


@given(st.text())
def test_never_raises(text):
    parse_sysctl_conf(text)

