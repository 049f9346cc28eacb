"""Which hosts a fleet command reaches: Ansible inventories (INI and YAML) and plain lists.

What is read, as Ansible reads it: groups (``[name]``, ``[name:children]``, ``[name:vars]``;
YAML ``hosts``/``children``/``vars``), numeric host ranges (``db[01:12]``), ``host:port``, and
the connection variables ``ansible_host``, ``ansible_port`` and ``ansible_user``, a host's own
value winning over its groups' (a child group's over its parent's, any group's over ``all``).
A plain list is an INI file without sections; its lines and ``--hosts`` words may also be
``user@host:port``. Other variables are ignored: minfree reaches hosts with ``ssh`` and the
user's ssh configuration, as Ansible's default connection does.

Names are checked, never interpreted: a word that could pass for an ssh option (leading ``-``),
or that holds whitespace or control characters, is refused with its line; anything else (``;``
included) is only ever an argument of ``ssh``.
"""
from __future__ import annotations

import re
import shlex

from minfree.model.record import field, record

CONNECTION_VARS = ("ansible_host", "ansible_port", "ansible_user")
_RANGE = re.compile(r"\[(\d+):(\d+)(?::(\d+))?\]")
_BAD = re.compile(r"[\s\x00-\x1f\x7f]")
MAX_RANGE = 10000


class InventoryError(ValueError):
    """An inventory that cannot be read as written: the message names the line."""


@record
class Host:
    """A host a fleet command reaches: its inventory name, the address ssh connects to (``ansible_host``,
    else the name), port and user (None: ssh's own), and its groups."""

    name: str
    address: str
    port: int | None = None
    user: str | None = None
    groups: tuple[str, ...] = ()


@record(frozen=False)
class _Draft:
    """A host while the inventory is read: the groups it is listed under and its own variables (they
    win over its groups')."""

    groups: list[str] = field(default_factory=list)
    own: dict[str, str] = field(default_factory=dict)


def _checked(word: str, what: str, where: str) -> str:
    if not word or word.startswith("-") or _BAD.search(word):
        raise InventoryError(f"{where}: {what} {word!r} is not usable (empty, a leading '-', "
                             "whitespace or control characters)")
    return word


def _port(value: object, where: str) -> int:
    text = str(value).strip()
    if not text.isdecimal() or not 0 < int(text) < 65536:
        raise InventoryError(f"{where}: port {text!r} is not a number from 1 to 65535")
    return int(text)


def expand_range(pattern: str) -> list[str]:
    """Ansible's numeric host ranges; leading zeros are kept.

    >>> expand_range("db[08:10].dc1"), expand_range("web[1:5:2]"), expand_range("plain")
    (['db08.dc1', 'db09.dc1', 'db10.dc1'], ['web1', 'web3', 'web5'], ['plain'])
    """
    match = _RANGE.search(pattern)
    if match is None:
        return [pattern]
    first, last, stride = match.group(1), match.group(2), int(match.group(3) or 1)
    if int(last) < int(first) or stride < 1 or (int(last) - int(first)) // stride >= MAX_RANGE:
        raise InventoryError(f"host range {match.group(0)} in {pattern!r} is empty or too long")
    width = len(first) if first.startswith("0") else 0
    head, tail = pattern[:match.start()], pattern[match.end():]
    return [name for n in range(int(first), int(last) + 1, stride)
            for name in expand_range(f"{head}{n:0{width}d}{tail}")]


def split_host_word(word: str, where: str = "--hosts") -> tuple[str, str | None, int | None]:
    """``name``, ``name:port``, ``user@name:port`` or ``[v6addr]:port`` -> (name, user, port).

    >>> split_host_word("ops@db1:2222"), split_host_word("db1"), split_host_word("[::1]:22")
    (('db1', 'ops', 2222), ('db1', None, None), ('::1', None, 22))
    """
    user = None
    if "@" in word:
        user, word = word.rsplit("@", 1)
        _checked(user, "user", where)
    port = None
    if word.startswith("["):
        address, _, rest = word[1:].partition("]")
        if rest:
            port = _port(rest.removeprefix(":"), where)
        word = address
    elif word.count(":") == 1:
        word, text = word.split(":")
        port = _port(text, where)
    return _checked(word, "host", where), user, port


def parse_host_list(text: str) -> list[Host]:
    """``--hosts a,b,c``.

    >>> parse_host_list("db1, ops@db2:2200")
    [Host(name='db1', address='db1', port=None, user=None, groups=()), Host(name='db2', address='db2', port=2200, user='ops', groups=())]
    """
    hosts = []
    for word in (w.strip() for w in text.split(",")):
        if word:
            for expanded in expand_range(word):
                name, user, port = split_host_word(expanded)
                hosts.append(Host(name, name, port, user))
    if not hosts:
        raise InventoryError("--hosts names no host")
    return _unique(hosts)


def parse_ini_inventory(text: str, source: str = "inventory") -> list[Host]:
    """An Ansible INI inventory (or a plain list: one host per line).

    >>> parse_ini_inventory('''
    ... lone.example ansible_user=admin
    ... [db]
    ... db[1:2] ansible_port=2200
    ... db3 ansible_host=10.0.0.3   # spare
    ... [db:vars]
    ... ansible_user=ops
    ... [all:vars]
    ... ansible_user=nobody
    ... ansible_port=22
    ... ''')[:3]
    [Host(name='lone.example', address='lone.example', port=22, user='admin', groups=()), Host(name='db1', address='db1', port=2200, user='ops', groups=('db',)), Host(name='db2', address='db2', port=2200, user='ops', groups=('db',))]
    """
    drafts: dict[str, _Draft] = {}
    group_vars: dict[str, dict[str, str]] = {}
    children: dict[str, list[str]] = {}
    section, kind = "ungrouped", "hosts"
    for lineno, raw in enumerate(text.splitlines(), 1):
        where = f"{source}:{lineno}"
        line = raw.strip()
        if not line or line.startswith(("#", ";")):
            continue
        if line.startswith("[") and line.endswith("]"):
            section, _, kind = line[1:-1].partition(":")
            kind = kind or "hosts"
            if kind not in ("hosts", "vars", "children"):
                raise InventoryError(f"{where}: unknown section kind {kind!r}")
            _checked(section, "group", where)
            children.setdefault(section, [])
            continue
        try:
            words = shlex.split(line, comments=True)
        except ValueError as error:
            raise InventoryError(f"{where}: {error}") from None
        if not words:
            continue
        if kind == "vars":
            key, sep, value = line.partition("=")
            if not sep:
                raise InventoryError(f"{where}: expected key=value in [{section}:vars]")
            group_vars.setdefault(section, {})[key.strip()] = shlex.split(value, comments=True)[0] if value.strip() else ""
        elif kind == "children":
            children[section].append(_checked(words[0], "group", where))
        else:
            own = {}
            for word in words[1:]:
                key, sep, value = word.partition("=")
                if not sep:
                    raise InventoryError(f"{where}: expected key=value after the host, got {word!r}")
                if key == "ansible_port":
                    _port(value, where)
                own[key] = value
            for pattern in expand_range(words[0]):
                name, user, port = split_host_word(pattern, where)
                draft = drafts.setdefault(name, _Draft())
                if section != "ungrouped" and section not in draft.groups:
                    draft.groups.append(section)
                draft.own.update({k: v for k, v in (("ansible_user", user), ("ansible_port", port)) if v is not None})
                draft.own.update(own)
    return _resolve(drafts, group_vars, children, source)


def parse_yaml_inventory(text: str, source: str = "inventory") -> list[Host]:
    """An Ansible YAML inventory (``all:`` with ``hosts``, ``children`` and ``vars``).

    >>> parse_yaml_inventory('''
    ... all:
    ...   vars: {ansible_user: ops}
    ...   children:
    ...     cache:
    ...       hosts:
    ...         redis1: {ansible_host: 10.1.0.1, ansible_port: 2222}
    ...         redis2:
    ... ''')
    [Host(name='redis1', address='10.1.0.1', port=2222, user='ops', groups=('cache',)), Host(name='redis2', address='redis2', port=None, user='ops', groups=('cache',))]
    """
    try:
        import yaml  # lazily: only YAML inventories need it
    except ImportError:
        raise InventoryError(f"{source}: YAML inventories need PyYAML (pip install 'minfree[fleet]')") from None

    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InventoryError(f"{source}: not YAML: {str(error).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise InventoryError(f"{source}: a YAML inventory is a mapping of groups (all: ...)")
    drafts: dict[str, _Draft] = {}
    group_vars: dict[str, dict[str, str]] = {}
    children: dict[str, list[str]] = {}

    def group(name: str, body: object, depth: int) -> None:
        where = f"{source}: group {name}"
        _checked(str(name), "group", source)
        if depth > 50:
            raise InventoryError(f"{where}: groups nest too deep")
        if body is None:
            body = {}
        if not isinstance(body, dict):
            raise InventoryError(f"{where}: expected hosts/children/vars, got {type(body).__name__}")
        children.setdefault(name, [])
        group_vars.setdefault(name, {}).update(_mapping(body.get("vars"), where))
        for pattern, own in _mapping_items(body.get("hosts"), where):
            for expanded in expand_range(str(pattern)):
                host, user, port = split_host_word(expanded, where)
                draft = drafts.setdefault(host, _Draft())
                if name not in ("all", "ungrouped") and name not in draft.groups:
                    draft.groups.append(name)
                draft.own.update({k: v for k, v in (("ansible_user", user), ("ansible_port", port)) if v is not None})
                draft.own.update(_mapping(own, f"{where}: host {host}"))
        for child, child_body in _mapping_items(body.get("children"), where):
            children[name].append(str(child))
            group(str(child), child_body, depth + 1)

    for name, body in data.items():
        group(str(name), body, 0)
    return _resolve(drafts, group_vars, children, source)


def _mapping(value: object, where: str) -> dict[str, str]:
    return {str(k): ("" if v is None else str(v)) for k, v in _mapping_items(value, where)}


def _mapping_items(value: object, where: str) -> list[tuple[object, object]]:
    if value is None:
        return []
    if not isinstance(value, dict):
        raise InventoryError(f"{where}: expected a mapping, got {type(value).__name__}")
    return list(value.items())


def _resolve(drafts: dict[str, _Draft], group_vars: dict[str, dict[str, str]],
             children: dict[str, list[str]], source: str) -> list[Host]:
    parents: dict[str, set[str]] = {}
    for parent, kids in children.items():
        for kid in kids:
            parents.setdefault(kid, set()).add(parent)

    def depth(group: str, seen: frozenset[str] = frozenset()) -> int:
        if group in seen:
            raise InventoryError(f"{source}: group {group} is its own ancestor")
        return 1 + max((depth(p, seen | {group}) for p in parents.get(group, ())), default=0)

    def ancestry(group: str, seen: frozenset[str] = frozenset()) -> set[str]:
        if group in seen:
            raise InventoryError(f"{source}: group {group} is its own ancestor")
        found = {group}
        for parent in parents.get(group, ()):
            found |= ancestry(parent, seen | {group})
        return found

    hosts = []
    for name, draft in drafts.items():
        groups: set[str] = set()
        for group in draft.groups:
            groups |= ancestry(group)
        values: dict[str, str] = dict(group_vars.get("all", {}))
        for group in sorted(groups - {"all"}, key=lambda g: (depth(g), g)):
            values.update(group_vars.get(group, {}))
        values.update(draft.own)
        where = f"{source}: host {name}"
        address = _checked(values.get("ansible_host") or name, "ansible_host", where)
        port = values.get("ansible_port")
        user = values.get("ansible_user")
        hosts.append(Host(name, address, _port(port, where) if port else None,
                          _checked(user, "ansible_user", where) if user else None,
                          tuple(sorted(groups - {"all", "ungrouped"}))))
    return hosts


def _unique(hosts: list[Host]) -> list[Host]:
    seen: dict[str, Host] = {}
    for host in hosts:
        seen.setdefault(host.name, host)
    return list(seen.values())


def parse_inventory(text: str, source: str) -> list[Host]:
    """YAML when the file says so (``.yml``/``.yaml`` or a first line ``---``/``all:``), else INI."""
    head = next((line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")), "")
    if source.endswith((".yml", ".yaml")) or head == "---" or head.rstrip(":") == "all" and head.endswith(":"):
        return parse_yaml_inventory(text, source)
    return parse_ini_inventory(text, source)
