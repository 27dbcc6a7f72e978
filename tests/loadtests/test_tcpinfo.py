import socket

from loadtests.tcpinfo import TrafficMeter, traffic


def test_traffic_counts_payload_bytes_each_way() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        with socket.create_connection(server.getsockname()) as client:
            peer, _ = server.accept()
            with peer:
                client.sendall(b"q" * 1500)
                got = b""
                while len(got) < 1500:
                    got += peer.recv(4096)
                peer.sendall(b"a" * 4000)
                got = b""
                while len(got) < 4000:
                    got += client.recv(8192)
                mine, theirs = traffic(client), traffic(peer)
    assert mine is not None and theirs is not None
    # bytes_acked counts the SYN's one sequence number on the side that opened.
    assert mine.sent in (1500, 1501)
    assert mine.received == 4000
    assert theirs.sent in (4000, 4001)
    assert theirs.received == 1500


def test_traffic_of_a_non_tcp_socket_is_none() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
        assert traffic(udp) is None


def test_meter_keeps_the_last_reading_after_the_socket_is_gone() -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        client = socket.create_connection(server.getsockname())
        peer, _ = server.accept()
        with peer:
            meter = TrafficMeter(client)
            client.sendall(b"z" * 700)
            got = b""
            while len(got) < 700:
                got += peer.recv(1000)
            peer.sendall(b"k")  # the reply carries the acknowledgement of the 700 bytes
            assert client.recv(1) == b"k"
            first = meter.read()
            assert first is not None and first.sent in (700, 701)
            client.close()
            assert meter.read() == first
    assert TrafficMeter(None).read() is None
