"""A simulated FTMS treadmill on bumble, and a virtual radio that bleak can use.

The simulator is a second, independent implementation of the Fitness Machine
Service: its own encoders (:mod:`simulator.encoding`), a physical model driven by
explicit time (:mod:`simulator.model`), quirks of real machines
(:mod:`simulator.quirks`), scheduled faults (:mod:`simulator.faults`), a ground-truth
trace (:mod:`simulator.trace`), a GATT server (:mod:`simulator.gatt_server`) and
bleak backends over an in-process radio (:mod:`simulator.bleak_backend`,
:mod:`simulator.radio`). It never imports ``treadmill_ctl``.

Typical use::

    async with open_virtual_treadmill(faults=["stall@30:5"]) as sim:
        async with BleakClient(sim.ble_device, backend=sim.client_backend) as client:
            ...
        assert sim.model.belt_speed_kmh == 0
"""

from simulator.radio import (
    VirtualHeartRateStrap,
    VirtualRadio,
    VirtualTreadmill,
    open_virtual_treadmill,
)

__all__ = ["VirtualHeartRateStrap", "VirtualRadio", "VirtualTreadmill", "open_virtual_treadmill"]
