"""pymodbus's Modbus/TCP server (from PyPI) for tests/peers: ``modbus_server.py PORT PIDFILE``.

Device 1 holds 100 of each kind of register: discrete inputs and input registers
(read-only in Modbus: no request can change them), coils and holding registers.
The pid is written to PIDFILE before the port opens.
"""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

try:  # pymodbus >= 3.10
    from pymodbus.datastore import ModbusDeviceContext as Device
except ImportError:  # pragma: no cover - older pymodbus
    from pymodbus.datastore import ModbusSlaveContext as Device  # type: ignore[no-redef]


def block() -> ModbusSequentialDataBlock:
    """Registers 1..100 holding 0..99."""
    return ModbusSequentialDataBlock(1, list(range(100)))


async def serve(port: int, pidfile: Path) -> None:
    """Serve device 1 on 127.0.0.1:``port`` until killed."""
    device = Device(di=block(), co=block(), hr=block(), ir=block())
    server = ModbusTcpServer(ModbusServerContext(device, single=True), address=("127.0.0.1", port))
    pidfile.write_text(str(os.getpid()))
    await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(serve(int(sys.argv[1]), Path(sys.argv[2])))
