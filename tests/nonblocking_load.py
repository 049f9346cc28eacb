"""Allocations that may not sleep, made on purpose from user space: a loopback TCP sender
whose receiver does not read. Each time the socket's 32 KiB page fragment is still held by
queued data, ``skb_page_frag_refill`` (net/core/sock.c) takes a new order-3 page with
``__GFP_DIRECT_RECLAIM`` removed, until the send buffer is full."""
from __future__ import annotations

import socket


def fill_unread_socket(rounds: int = 3) -> None:
    for _ in range(rounds):
        server = socket.socket()
        server.bind(("127.0.0.1", 0))
        server.listen(1)
        client = socket.create_connection(server.getsockname())
        conn, _ = server.accept()
        client.setblocking(False)
        try:
            while True:
                client.send(b"x" * 65536)
        except BlockingIOError:
            pass
        for sock in (client, conn, server):
            sock.close()
