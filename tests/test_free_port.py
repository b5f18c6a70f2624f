"""The ports tests give their servers: free, never given twice, and never ones a client connection may take."""

import socket
from pathlib import Path

from tests.conftest import free_port


def test_a_servers_port_is_free_and_outside_the_range_outgoing_connections_take_ports_from() -> None:
    low, high = (int(value) for value in Path('/proc/sys/net/ipv4/ip_local_port_range').read_text().split())
    ports = [free_port() for _ in range(50)]
    assert len(set(ports)) == len(ports)
    assert not [port for port in ports if low <= port <= high]
    for port in ports[:5]:
        with socket.socket() as server:
            server.bind(('127.0.0.1', port))
            server.listen()
