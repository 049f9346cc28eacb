"""Inventories as Ansible reads them, and names that could pass for something else refused."""
from __future__ import annotations

import pytest

from minfree.fleet.inventory import Host, InventoryError, parse_host_list, parse_inventory

INI = """\
# production
[db]
db[01:02].dc1 ansible_user=dba
db03.dc1 ansible_host=10.0.0.3 ansible_port=2203

[cache]
redis1 ansible_host=10.0.1.1

[prod:children]
db
cache

[prod:vars]
ansible_user=ops
ansible_port=2200

[db:vars]
ansible_port=22
"""

YAML = """\
all:
  vars:
    ansible_user: nobody
  children:
    prod:
      vars: {ansible_user: ops, ansible_port: 2200}
      children:
        db:
          vars: {ansible_port: 22}
          hosts:
            db[01:02].dc1: {ansible_user: dba}
            db03.dc1: {ansible_host: 10.0.0.3, ansible_port: 2203}
        cache:
          hosts:
            redis1: {ansible_host: 10.0.1.1}
"""

EXPECTED = [
    Host("db01.dc1", "db01.dc1", 22, "dba", ("db", "prod")),
    Host("db02.dc1", "db02.dc1", 22, "dba", ("db", "prod")),
    Host("db03.dc1", "10.0.0.3", 2203, "ops", ("db", "prod")),
    Host("redis1", "10.0.1.1", 2200, "ops", ("cache", "prod")),
]


def test_ini_and_yaml_give_the_same_hosts_with_ansible_precedence() -> None:
    # a host's own value beats its groups', a child group's beats its parent's
    assert parse_inventory(INI, "prod.ini") == EXPECTED
    assert parse_inventory(YAML, "prod.yml") == EXPECTED
    assert parse_inventory("---\n" + YAML, "inventory") == EXPECTED


def test_plain_list_with_users_ports_and_comments() -> None:
    text = "db1\nops@db2:2222   # spare\n\n[::1]:2200\n"
    assert parse_inventory(text, "hosts.txt") == [
        Host("db1", "db1"), Host("db2", "db2", 2222, "ops"), Host("::1", "::1", 2200)]


def test_a_semicolon_is_kept_as_part_of_the_name_never_split() -> None:
    assert parse_host_list("a;reboot,b") == [Host("a;reboot", "a;reboot"), Host("b", "b")]


@pytest.mark.parametrize("text, message", [
    ("-oProxyCommand=sh\n", "host '-oProxyCommand=sh' is not usable"),
    ("db1 ansible_host=-oProxyCommand=x\n", "ansible_host '-oProxyCommand=x' is not usable"),
    ("db1 ansible_user=-x\n", "ansible_user '-x' is not usable"),
    ("db1 ansible_port=http\n", "port 'http' is not a number"),
    ("db1 ansible_port=70000\n", "port '70000' is not a number"),
    ("[db:bogus]\n", "unknown section kind 'bogus'"),
    ("db1 stray\n", "expected key=value after the host"),
    ("db[5:1]\n", "is empty or too long"),
    ("db[0:99999]\n", "is empty or too long"),
    ("[a:children]\nb\n[b:children]\na\n[a]\nh\n", "is its own ancestor"),
    ("db1 ansible_user='unclosed\n", "No closing quotation"),
])
def test_bad_inventories_name_the_line(text: str, message: str) -> None:
    with pytest.raises(InventoryError, match=message.replace("[", r"\[").replace("(", r"\(")):
        parse_inventory(text, "inv.ini")


@pytest.mark.parametrize("text", ["all: [a, b]\n", "- a\n- b\n", "all:\n  hosts: [a]\n", "all: {\n"])
def test_bad_yaml_is_a_one_line_error(text: str) -> None:
    with pytest.raises(InventoryError) as caught:
        parse_inventory(text, "inv.yml")
    assert "\n" not in str(caught.value) and str(caught.value).startswith("inv.yml")


def test_hosts_option_needs_a_host() -> None:
    with pytest.raises(InventoryError, match="names no host"):
        parse_host_list(" , ")
