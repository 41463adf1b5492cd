"""MQTT settings from a URL and from the config file's [mqtt] table."""

from __future__ import annotations

import random
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.telemetry.bridge import backoff_delays
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings, topic_safe_id
from treadmill_ctl.telemetry.topics import Topics

if TYPE_CHECKING:
    from pathlib import Path


class TestFromUrl:
    def test_a_plain_url_gives_host_default_port_and_no_pinned_client_id(self) -> None:
        mqtt = MqttSettings.from_url("mqtt://broker.local", treadmill_id="tm1")
        assert (mqtt.host, mqtt.port, mqtt.tls) == ("broker.local", 1883, False)
        assert mqtt.client_id is None
        assert mqtt.warnings == ()
        assert (mqtt.username, mqtt.password, mqtt.ca_file) == (None, None, None)

    def test_mqtts_defaults_to_port_8883_and_takes_a_ca_file(self, tmp_path: Path) -> None:
        ca = tmp_path / "ca.pem"
        ca.write_text("---")
        mqtt = MqttSettings.from_url("mqtts://broker", treadmill_id="tm1", ca_file=ca)
        assert (mqtt.port, mqtt.tls, mqtt.ca_file) == (8883, True, ca)

    def test_user_and_password_are_percent_decoded_and_kept_out_of_repr(self) -> None:
        mqtt = MqttSettings.from_url("mqtt://gym%40home:p%3Ass@10.0.0.2:1884", treadmill_id="a")
        assert (mqtt.username, mqtt.password, mqtt.port) == ("gym@home", "p:ss", 1884)
        assert "p:ss" not in repr(mqtt)
        assert mqtt.describe() == "mqtt://gym@home@10.0.0.2:1884"

    def test_client_id_comes_from_the_query_and_the_option_wins(self, tmp_path: Path) -> None:
        ca = tmp_path / "ca.pem"
        ca.write_text("---")
        url = f"mqtts://h/?client_id=from-url&ca_file={ca}"
        assert MqttSettings.from_url(url, treadmill_id="a").client_id == "from-url"
        assert MqttSettings.from_url(url, treadmill_id="a").ca_file == ca
        assert MqttSettings.from_url(url, treadmill_id="a", client_id="opt").client_id == "opt"

    @pytest.mark.parametrize(
        ("url", "complaint"),
        [
            ("http://broker", "scheme must be mqtt:// or mqtts://"),
            ("broker:1883", "scheme must be mqtt:// or mqtts://"),
            ("mqtt://", "host is empty"),
            ("mqtt://broker:notaport", "port is not a number"),
            ("mqtt://broker:0", "not between 1 and 65535"),
            ("mqtt://broker/topic", "no path is allowed"),
            ("mqtt://broker?qos=1", "unknown parameter(s) qos"),
            ("mqtt://broker?client_id=a&client_id=b", "client_id given twice"),
            ("mqtt://broker?client_id=", "client_id is empty"),
            ("mqtt://broker?ca_file=/etc/hosts", "needs a TLS broker"),
            ("mqtts://broker?ca_file=/no/such/ca.pem", "does not exist"),
        ],
    )
    def test_a_bad_url_is_a_config_error_that_says_what_is_wrong(
        self, url: str, complaint: str
    ) -> None:
        with pytest.raises(ConfigError, match=complaint.replace("(", r"\(").replace(")", r"\)")):
            MqttSettings.from_url(url, treadmill_id="tm1")

    def test_errors_never_show_the_password(self) -> None:
        with pytest.raises(ConfigError) as error:
            MqttSettings.from_url("mqtt://user:secret@broker/path", treadmill_id="tm1")
        assert "secret" not in str(error.value)

    @pytest.mark.parametrize("treadmill_id", ["", "all", "a/b", "tm+", "tm#", "x" * 65, "é"])
    def test_a_treadmill_id_must_be_a_plain_topic_level_and_not_all(
        self, treadmill_id: str
    ) -> None:
        with pytest.raises(ConfigError, match="treadmill id"):
            MqttSettings.from_url("mqtt://broker", treadmill_id=treadmill_id)

    @pytest.mark.parametrize("prefix", ["", "/a", "a/", "a//b", "a/+", "#"])
    def test_a_prefix_must_be_topic_levels_without_wildcards(self, prefix: str) -> None:
        with pytest.raises(ConfigError, match="prefix"):
            MqttSettings.from_url("mqtt://broker", treadmill_id="tm1", prefix=prefix)

    def test_a_prefix_may_have_several_levels(self) -> None:
        mqtt = MqttSettings.from_url("mqtt://b", treadmill_id="tm3", prefix="gym/floor1")
        topics = Topics.for_settings(mqtt)
        assert topics.cmd == "gym/floor1/tm3/cmd"
        assert topics.broadcast_cmd == "gym/floor1/all/cmd"


class TestFromMapping:
    def test_the_mqtt_table_gives_the_same_settings_as_the_options(self) -> None:
        table = {
            "url": "mqtt://u:pw@broker:1999",
            "client_id": "ctl-7",
            "prefix": "gym",
            "treadmill_id": "lane7",
            "allow_remote_control": True,
            "discovery": False,
            "telemetry_interval_s": 2,
            "keepalive_s": 15,
        }
        mqtt = MqttSettings.from_mapping(table, treadmill_id="ignored")
        assert mqtt == MqttSettings(
            host="broker",
            port=1999,
            tls=False,
            treadmill_id="lane7",
            username="u",
            password="pw",  # noqa: S106 - a test value
            client_id="ctl-7",
            prefix="gym",
            allow_remote_control=True,
            discovery=False,
            telemetry_interval_s=2.0,
            keepalive_s=15,
        )

    def test_the_treadmill_id_argument_is_used_when_the_table_has_none(self) -> None:
        mqtt = MqttSettings.from_mapping({"url": "mqtt://b"}, treadmill_id="aa_bb")
        assert (mqtt.treadmill_id, mqtt.allow_remote_control, mqtt.discovery) == (
            "aa_bb",
            False,
            True,
        )

    @pytest.mark.parametrize(
        ("table", "complaint"),
        [
            ({}, r"\[mqtt\]: 'url' is required"),
            ({"url": "mqtt://b", "port": 1}, r"\[mqtt\]: unknown key\(s\) port"),
            ({"url": 1883}, r"\[mqtt\]\.url must be a string"),
            ({"url": "mqtt://b", "allow_remote_control": "yes"}, r"allow_remote_control must be"),
            ({"url": "mqtt://b", "telemetry_interval_s": True}, r"must be a number"),
            (
                {"url": "mqtt://b", "telemetry_interval_s": 0},
                r"telemetry_interval_s must be a number between",
            ),
            ({"url": "ftp://b"}, r"\[mqtt\]: MQTT URL"),
        ],
    )
    def test_a_bad_table_is_a_config_error_naming_the_key(
        self, table: dict[str, object], complaint: str
    ) -> None:
        with pytest.raises(ConfigError, match=complaint):
            MqttSettings.from_mapping(table, treadmill_id="tm1")


class TestTopicSafeId:
    def test_a_bluetooth_address_becomes_a_lowercase_id(self) -> None:
        assert topic_safe_id("AA:BB:CC:DD:EE:FF") == "aa_bb_cc_dd_ee_ff"

    @given(st.text(max_size=80))
    @example("all")
    @example("///")
    @settings(max_examples=200, deadline=None)
    def test_any_name_gives_a_usable_id_or_a_config_error(self, name: str) -> None:
        try:
            treadmill_id = topic_safe_id(name)
        except ConfigError:
            return
        assert MqttSettings.from_url("mqtt://b", treadmill_id=treadmill_id).treadmill_id


class TestBackoff:
    @given(
        st.floats(min_value=0.01, max_value=5),
        st.floats(min_value=1, max_value=100),
        st.integers(0, 2**32),
    )
    @settings(max_examples=150, deadline=None)
    def test_delays_stay_under_the_cap_and_grow_to_it(
        self, min_s: float, factor: float, seed: int
    ) -> None:
        max_s = min_s * factor
        delays = backoff_delays(min_s, max_s, rng=random.Random(seed))
        drawn = [next(delays) for _ in range(40)]
        assert all(min_s / 2 <= delay_s <= max_s for delay_s in drawn)
        assert drawn[-1] >= max_s / 2

    def test_the_jitter_spreads_controllers_that_lost_the_broker_together(self) -> None:
        firsts = {next(backoff_delays(1.0, 30.0, rng=random.Random(seed))) for seed in range(20)}
        assert len(firsts) == 20
