import socket

from loadtests.tcpinfo import traffic


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
