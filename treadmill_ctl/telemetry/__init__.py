"""MQTT: the session's state out to a broker and Home Assistant, remote stops in.

``mqtt_settings`` (URL and ``[mqtt]`` table), ``topics``, ``payloads`` (state,
telemetry and event JSON), ``discovery`` (Home Assistant), ``commands`` (the remote
command policy) and ``bridge`` (the aiomqtt client, a session observer).
"""
