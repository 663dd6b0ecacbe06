"""The sandbox base serves like a server: concurrent clients are not reset, every method
gets the platform's JSON answer, and the in-process path is the socket path."""

from __future__ import annotations

import concurrent.futures
import json
import socket

import httpx
import pytest

import invoicekit
from invoicekit import errors
from invoicekit.testing.sandbox import ConnectionLost, Fault
from invoicekit_dayzero.sandbox import DayZeroSandbox
from invoicekit_salla.sandbox import SallaSandbox


def test_the_listen_backlog_takes_a_burst_of_connections() -> None:
    """The standard library listens with a backlog of 5; under a burst of concurrent
    clients the kernel reset connections before any handler ran (issue 13, item 10)."""
    with SallaSandbox() as sandbox:
        assert sandbox._server is not None
        assert sandbox._server.request_queue_size >= 128
        host, port = sandbox.host, sandbox.port
        # 64 connections opened at once, before any request is read: none is refused.
        sockets = [socket.create_connection((host, port), timeout=5) for _ in range(64)]
        try:
            for sock in sockets:
                sock.sendall(b"GET /admin/v2/orders/invoices HTTP/1.1\r\nHost: x\r\n"
                             b"Connection: close\r\n\r\n")
            answers = [sock.recv(12) for sock in sockets]
        finally:
            for sock in sockets:
                sock.close()
    assert answers == [b"HTTP/1.1 401"] * 64  # every one reached the handler (no token)


def test_32_concurrent_clients_create_without_a_reset() -> None:
    with SallaSandbox() as sandbox:
        orders = [sandbox.sample_draft(n) for n in range(1, 65)]

        def create(draft: invoicekit.InvoiceDraft) -> str:
            with invoicekit.connect("salla", **sandbox.settings(), max_retries=0) as gw:
                return gw.create_invoice(draft).id

        with concurrent.futures.ThreadPoolExecutor(32) as pool:
            ids = list(pool.map(create, orders))
        assert len(set(ids)) == 64
        assert sandbox.count("POST", "/orders/invoices$") == 64


@pytest.mark.parametrize("method", ["PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def test_a_known_path_with_another_method_is_a_json_405(method: str) -> None:
    with SallaSandbox() as sandbox, httpx.Client() as client:
        answer = client.request(method, f"{sandbox.url}/orders/invoices")
    assert answer.status_code == 405
    assert answer.headers["allow"] == "GET, POST"
    assert answer.headers["content-type"].startswith("application/json")
    body = answer.json()
    assert body["success"] is False  # Salla's own error envelope
    assert body["error"]["message"] == "Method Not Allowed"


def test_head_and_unknown_paths_answer_like_the_platform() -> None:
    with DayZeroSandbox() as sandbox, httpx.Client() as client:
        head = client.head(f"{sandbox.url}/invoices")
        missing = client.get(f"{sandbox.url}/no-such-thing")
    assert head.status_code == 405
    assert head.headers["allow"] == "GET, POST"
    assert missing.status_code == 404
    assert missing.json() == {"detail": "Not Found"}  # FastAPI's shape, as DayZero answers


def test_in_process_answers_are_the_socket_answers() -> None:
    box = DayZeroSandbox()
    headers = {"Authorization": "Bearer nope", "x-business-id": "x"}
    in_process = box.respond("GET", "/api/v1/invoices?limit=1", headers, b"")
    with box, httpx.Client() as client:
        over_socket = client.get(f"{box.url}/invoices", params={"limit": "1"}, headers=headers)
    assert in_process.status == over_socket.status_code == 401
    assert json.loads(in_process.body) == over_socket.json()
    assert box.count("GET", "/invoices$") == 2  # both were logged


def test_in_process_faults_are_what_a_client_would_see() -> None:
    box = SallaSandbox()
    box.faults.push(Fault.status_code(503, {"error": "down"}))
    assert box.respond("GET", "/admin/v2/orders/invoices", {}, b"").status == 503
    box.faults.push(Fault.reset())
    with pytest.raises(ConnectionLost, match="'reset'") as info:
        box.respond("GET", "/admin/v2/orders/invoices", {}, b"")
    assert info.value.carried_out is False
    # A lost answer on the fake's profile: the write happened, the caller cannot know.
    gw = invoicekit.connect("fake", profile="salla")
    assert gw.sandbox is not None
    draft = gw.sample_draft(1)
    gw.sandbox.faults.push(Fault.lost_answer(method="POST"))
    with pytest.raises(errors.OutcomeUnknown, match="may or may not have happened"):
        gw.create_invoice(draft)
    assert len(gw.invoices) == 1
