"""A TCP relay in front of the live API that loses the answers of the first requests
after the server handled them, as a network failing at the worst moment does."""

import socket
import threading


def read_message(connection: socket.socket) -> bytes:
    """One HTTP/1.1 message with a Content-Length body (what httpx and uvicorn send)."""
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = connection.recv(65536)
        if not chunk:
            return data
        data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    length = next((int(line.split(b":", 1)[1]) for line in head.split(b"\r\n")
                   if line.lower().startswith(b"content-length:")), 0)
    while len(body) < length:
        body += connection.recv(65536)
    return head + b"\r\n\r\n" + body


class LossyProxy:
    def __init__(self, target_port: int, answers_to_lose: int):
        self.target_port = target_port
        self.answers_to_lose = answers_to_lose
        self.forwarded = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._listener.close()

    def _accept(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._relay, args=(connection,), daemon=True).start()

    def _relay(self, connection: socket.socket) -> None:
        with connection:
            request = read_message(connection)
            with socket.create_connection(("127.0.0.1", self.target_port)) as upstream:
                upstream.sendall(request)
                answer = read_message(upstream)
            self.forwarded += 1
            if self.answers_to_lose > 0:
                self.answers_to_lose -= 1
                return  # the server answered; the client never hears it
            connection.sendall(answer)
