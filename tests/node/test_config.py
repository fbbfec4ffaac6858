"""node.toml: a minimal file runs with field defaults; every mistake names its line and fix."""

from __future__ import annotations

from pathlib import Path

import pytest

from tacmesh.node.config import DEFAULT_GROUP, ConfigError, parse_config
from tacmesh.protocol.addresses import Prefix, team_group
from tacmesh.protocol.crypto.suite import IP_TAG_LEN

SOURCE = Path("/etc/tacmesh/node.toml")
MINIMAL = """\
[node]
keys = "keys"

[[interface]]
name = "wlan0"
"""


def test_a_minimal_file_gets_field_defaults() -> None:
    s = parse_config(MINIMAL, SOURCE)
    assert s.keys == Path("/etc/tacmesh/keys")  # relative to the file
    (link,) = s.links
    assert link.device == "wlan0" and link.bind.port == 4880
    assert link.group is not None and link.group.host == DEFAULT_GROUP
    assert link.engine.tag_len == IP_TAG_LEN and link.engine.mtu == 1200
    assert link.engine.hello_interval_s == 0.5  # the wifi-mesh profile the simulator uses
    assert s.metrics is None and s.api_tcp is None and s.log_level == "warning"


def test_an_lte_link_with_peers_and_a_gateway_prefix() -> None:
    s = parse_config(
        MINIMAL
        + """
[[interface]]
name = "lte"
radio = "lte"
bind = "0.0.0.0:4880"
peers = ["198.18.7.1:4880", "[fd00::7]:4880"]
cost = 200

[node]
""".replace("[node]\n", "")
        + '[metrics]\nlisten = "127.0.0.1:9480"\n',
        SOURCE,
    )
    lte = s.links[1]
    assert lte.device is None and lte.group is None  # bound explicitly: no multicast
    assert [str(p) for p in lte.peers] == ["198.18.7.1:4880", "[fd00::7]:4880"]
    assert lte.engine.cost == 200 and lte.engine.hello_interval_s == 1.0
    assert s.metrics is not None and s.metrics.port == 9480


def test_prefixes_and_groups() -> None:
    text = MINIMAL.replace('keys = "keys"', 'keys = "keys"\nprefixes = ["0x1200/8"]\n'
                           'groups = ["team:3"]')  # fmt: skip
    s = parse_config(text, SOURCE)
    assert s.prefixes == (Prefix(0x1200, 8),) and s.groups == {team_group(3)}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("[[interface]]\nname = 'a'\n", 1, ["keys", "tacmesh keys issue"]),
        (MINIMAL + "hello_intervall_s = 2\n", 6, ["intervall", "did you mean 'hello_interval_s'"]),
        (MINIMAL + "peers = ['nowhere']\n", 6, ["'nowhere' is not host:port", "198.18.0.2:4880"]),
        (MINIMAL + "radio = 'lora'\n", 6, ["not a radio carried over UDP/IP", "wifi-mesh"]),
        (MINIMAL + "port = 70000\n", 6, ["70000", "1..65535", "4880"]),
        (MINIMAL + "[[interface]]\nname = 'wlan0'\n", 7, ["configured twice"]),
        ('[node]\nkeys = "k"\n[[interface]]\nname = "x"\nbind = "127.0.0.1:1"\nmulticast = false\n',
         3, ["no way to find neighbours", "peers"]),
        (MINIMAL + "[metrics]\nlisten = '0.0.0.0:9480'\n", 7, ["not this machine", "SSH tunnel"]),
        (MINIMAL + "[log]\nlevel = 'loud'\n", 7, ["unknown level", "warning"]),
        ('[node]\nkeys = "k"\n', 1, ["no interface", "[[interface]]"]),
        (MINIMAL + "name = = 3\n", 6, ["TOML syntax"]),
    ],
)  # fmt: skip
def test_mistakes_name_the_file_line_and_fix(text: str, line: int, words: list[str]) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    message = str(caught.value)
    assert message.startswith(f"{SOURCE}:{line}:"), message
    for word in words:
        assert word in message, message


def test_every_problem_is_reported_at_once() -> None:
    text = MINIMAL + "colour = 'red'\n[log]\nlevel = 'loud'\nformat = 'xml'\n"
    with pytest.raises(ConfigError) as caught:
        parse_config(text, SOURCE)
    assert len(str(caught.value).splitlines()) == 3
