"""MQTT settings from a URL and from the config file's [mqtt] table."""

from __future__ import annotations

import math
import random
from typing import TYPE_CHECKING

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from treadmill_ctl.errors import ConfigError
from treadmill_ctl.telemetry.health import backoff_delays
from treadmill_ctl.telemetry.mqtt_settings import MqttSettings, check_mqtt_table, topic_safe_id
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


class TestBounds:
    """Every [mqtt] value is bounded before anything connects; the error names the key."""

    @pytest.mark.parametrize(
        ("changes", "key"),
        [
            ({"keepalive_s": 65536}, "keepalive_s"),
            ({"keepalive_s": 0}, "keepalive_s"),
            ({"keepalive_s": math.inf}, "keepalive_s"),
            ({"keepalive_s": 10**400}, "keepalive_s"),
            ({"keepalive_s": 2.5}, "keepalive_s"),
            ({"telemetry_interval_s": math.inf}, "telemetry_interval_s"),
            ({"telemetry_interval_s": math.nan}, "telemetry_interval_s"),
            ({"telemetry_interval_s": 10**400}, "telemetry_interval_s"),
            ({"telemetry_interval_s": 0.001}, "telemetry_interval_s"),
            ({"client_id": "x" * 65536}, "client_id"),
            ({"client_id": "x" * 129}, "client_id"),
            ({"client_id": "has space"}, "client_id"),
            ({"client_id": "a/b"}, "client_id"),
            ({"client_id": ""}, "client_id"),
            ({"prefix": "gym/+/x"}, "prefix"),
            ({"prefix": "gym/#"}, "prefix"),
            ({"prefix": "gym\x00x"}, "prefix"),
            ({"prefix": "gym\x1b[2J"}, "prefix"),
            ({"prefix": "$SYS"}, "prefix"),
            ({"prefix": "p" * 201}, "prefix"),
            ({"discovery_prefix": "home+assistant"}, "discovery_prefix"),
            ({"url": "mqtt://broker:65536"}, "port"),
            ({"url": "mqtt://broker:99999999999999999999"}, "port"),
            ({"url": "mqtt://" + "h" * 3000}, "URL"),
            ({"cert_file": "/etc/hostname"}, "certificate file needs a TLS broker"),
            ({"password": "a", "password_file": "/x"}, "password or password_file"),
        ],
    )
    def test_an_out_of_range_value_is_a_config_error_naming_the_key(
        self, changes: dict[str, object], key: str
    ) -> None:
        table = {"url": "mqtt://broker"} | changes
        with pytest.raises(ConfigError) as error:
            check_mqtt_table(table)
        message = str(error.value)
        assert message.startswith("[mqtt]")
        assert key in message
        assert len(message) < 400
        assert "\x1b" not in message
        assert "\x00" not in message

    def test_the_check_passes_a_good_table_without_a_treadmill(self) -> None:
        settings = check_mqtt_table({"url": "mqtt://broker", "keepalive_s": 65535})
        assert settings.keepalive_s == 65535

    def test_a_pinned_client_id_is_accepted_with_a_warning_and_a_long_one_with_two(self) -> None:
        short = check_mqtt_table({"url": "mqtt://b", "client_id": "lane-7"})
        long = check_mqtt_table({"url": "mqtt://b", "client_id": "c" * 128})
        assert len(short.warnings) == 1
        assert "pinned" in short.warnings[0]
        assert len(long.warnings) == 2
        assert "23 bytes" in long.warnings[1]

    @given(
        st.dictionaries(
            st.sampled_from(
                [
                    "url",
                    "client_id",
                    "prefix",
                    "keepalive_s",
                    "telemetry_interval_s",
                    "discovery",
                    "treadmill_id",
                    "password",
                    "username",
                    "other",
                ]
            ),
            st.none()
            | st.booleans()
            | st.integers()
            | st.integers(min_value=10**300, max_value=10**400)
            | st.floats()
            | st.text(max_size=30)
            | st.sampled_from(["mqtt://b", "mqtts://u:p/w@b:1", "mqtt://b:0"])
            | st.lists(st.integers(), max_size=2),
            max_size=6,
        )
    )
    @example({"url": "mqtt://b", "keepalive_s": 10**400})
    @example({"url": "mqtt://b", "telemetry_interval_s": math.inf})
    @settings(max_examples=400, deadline=None)
    def test_fuzz_any_table_gives_settings_or_one_clear_config_error(
        self, table: dict[str, object]
    ) -> None:
        try:
            settings = check_mqtt_table(table)
        except ConfigError as error:
            message = str(error)
            assert message.startswith("[mqtt]")
            assert "\n" not in message
            assert len(message) < 600
            return
        assert 1 <= settings.keepalive_s <= 65535
        assert settings.client_id is None or len(settings.client_id) <= 128


class TestPasswords:
    SECRET = "s3/cr@t:p?w#d"  # noqa: S105 - a test value with every character URLs mind

    def test_an_unencoded_slash_or_at_in_a_url_password_never_shows_in_an_error(self) -> None:
        for url in (
            f"mqtt://user:{self.SECRET}@broker:1883",
            f"mqtt://user:{self.SECRET}@broker:notaport",
            f"ftp://user:{self.SECRET}@broker",
            "mqtt://user:pa/ss@broker",
            "mqtt://user:p@ss@broker/x",
        ):
            with pytest.raises(ConfigError) as error:
                MqttSettings.from_url(url, treadmill_id="tm1")
            message = str(error.value)
            for part in (self.SECRET, "pa/ss", "p@ss", "cr@t", "s3/cr"):
                assert part not in message, (url, message)

    def test_a_password_on_the_command_line_is_warned_about(self) -> None:
        settings = MqttSettings.from_command_line("mqtt://u:pw@broker", treadmill_id="tm1")
        (warning,) = settings.warnings
        assert "/proc/<pid>/cmdline" in warning
        assert "password_file" in warning
        assert "pw" not in warning.replace("password", "")
        assert MqttSettings.from_command_line("mqtt://broker", treadmill_id="t").warnings == ()

    def test_the_password_file_gives_the_password_and_a_warning_when_others_can_read_it(
        self, tmp_path: Path
    ) -> None:
        secret_file = tmp_path / "mqtt.pw"
        secret_file.write_text(self.SECRET + "\n")
        secret_file.chmod(0o600)
        table = {"url": "mqtt://broker", "username": "lane7", "password_file": "mqtt.pw"}
        settings = check_mqtt_table(table, settings_path=tmp_path / "config.toml")
        assert (settings.username, settings.password) == ("lane7", self.SECRET)
        assert settings.warnings == ()
        assert self.SECRET not in repr(settings)
        assert self.SECRET not in settings.describe()
        secret_file.chmod(0o644)
        (warning,) = check_mqtt_table(table, settings_path=tmp_path / "config.toml").warnings
        assert "can be read by other users" in warning
        assert "chmod 600" in warning
        assert self.SECRET not in warning

    def test_a_settings_file_holding_a_password_is_warned_about_when_others_can_read_it(
        self, tmp_path: Path
    ) -> None:
        config = tmp_path / "config.toml"
        config.write_text("[mqtt]\n")
        config.chmod(0o640)
        with_password = {"url": "mqtt://broker", "password": self.SECRET}
        (warning,) = check_mqtt_table(with_password, settings_path=config).warnings
        assert str(config) in warning
        assert check_mqtt_table({"url": "mqtt://b"}, settings_path=config).warnings == ()
        in_url = {"url": "mqtt://u:x@broker"}
        assert len(check_mqtt_table(in_url, settings_path=config).warnings) == 1
        config.chmod(0o600)
        assert check_mqtt_table(with_password, settings_path=config).warnings == ()

    @pytest.mark.parametrize("kind", ["missing", "directory", "empty", "huge", "binary"])
    def test_a_bad_password_file_is_a_config_error_naming_the_key(
        self, tmp_path: Path, kind: str
    ) -> None:
        path = tmp_path / "pw"
        if kind == "directory":
            path.mkdir()
        elif kind == "empty":
            path.write_text("\n")
        elif kind == "huge":
            path.write_text("x" * 5000)
        elif kind == "binary":
            path.write_bytes(b"\xff\xfe\x00")
        with pytest.raises(ConfigError, match=r"\[mqtt\]\.password_file"):
            check_mqtt_table({"url": "mqtt://b", "password_file": str(path)})

    def test_a_password_given_twice_is_refused_without_showing_it(self) -> None:
        table = {"url": "mqtt://u:other@b", "password": self.SECRET}
        with pytest.raises(ConfigError, match="given twice") as error:
            check_mqtt_table(table)
        assert self.SECRET not in str(error.value)

    def test_redaction_catches_the_password_as_given_and_percent_encoded(self) -> None:
        settings = MqttSettings.from_url("mqtt://u:a%2Fb%40c@broker", treadmill_id="t")
        assert settings.password == "a/b@c"  # noqa: S105 - a test value
        text = "failed with a/b@c and a%2Fb%40c"
        assert settings.redact(text) == "failed with *** and ***"


class TestClientCertificates:
    def test_cert_and_key_files_come_with_mqtts_and_go_together(self, tmp_path: Path) -> None:
        cert, key = tmp_path / "c.pem", tmp_path / "k.pem"
        cert.write_text("-")
        key.write_text("-")
        table = {"url": "mqtts://broker", "cert_file": str(cert), "key_file": str(key)}
        settings = check_mqtt_table(table)
        assert (settings.cert_file, settings.key_file, settings.port) == (cert, key, 8883)
        with pytest.raises(ConfigError, match="go together"):
            check_mqtt_table({"url": "mqtts://broker", "cert_file": str(cert)})
        with pytest.raises(ConfigError, match=r"key_file|key file"):
            check_mqtt_table(table | {"key_file": str(tmp_path / "missing.pem")})
