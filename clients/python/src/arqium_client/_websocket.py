"""Just enough of RFC 6455 for /ws/sync, without I/O: the opening handshake's headers,
the server's frames decoded, and the client's masked control frames."""

import base64
import os
import struct

TEXT, CLOSE, PING, PONG, CONTINUATION = 0x1, 0x8, 0x9, 0xA, 0x0


def handshake_headers() -> dict[str, str]:
    return {"Connection": "Upgrade", "Upgrade": "websocket", "Sec-WebSocket-Version": "13",
            "Sec-WebSocket-Key": base64.b64encode(os.urandom(16)).decode()}


def client_frame(opcode: int, payload: bytes = b"") -> bytes:
    """A final frame, masked as every client frame must be (payloads under 126 bytes:
    the client only sends control frames)."""
    mask = os.urandom(4)
    masked = bytes(byte ^ mask[i % 4] for i, byte in enumerate(payload))
    return bytes([0x80 | opcode, 0x80 | len(payload)]) + mask + masked


class FrameReader:
    """Whole messages out of the bytes the server sent: (opcode, payload) pairs."""

    def __init__(self) -> None:
        self._buffer = b""
        self._fragments: list[bytes] = []
        self._opcode = TEXT

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        self._buffer += data
        messages = []
        while (frame := self._next_frame()) is not None:
            final, opcode, payload = frame
            if opcode >= CLOSE:  # control frames arrive whole, even mid-message
                messages.append((opcode, payload))
                continue
            if opcode != CONTINUATION:
                self._opcode = opcode
            self._fragments.append(payload)
            if final:
                messages.append((self._opcode, b"".join(self._fragments)))
                self._fragments = []
        return messages

    def _next_frame(self) -> tuple[bool, int, bytes] | None:
        buffer = self._buffer
        if len(buffer) < 2:
            return None
        final, opcode = bool(buffer[0] & 0x80), buffer[0] & 0x0F
        length, offset = buffer[1] & 0x7F, 2
        if length == 126:
            if len(buffer) < 4:
                return None
            length, offset = struct.unpack("!H", buffer[2:4])[0], 4
        elif length == 127:
            if len(buffer) < 10:
                return None
            length, offset = struct.unpack("!Q", buffer[2:10])[0], 10
        if len(buffer) < offset + length:
            return None
        self._buffer = buffer[offset + length:]
        return final, opcode, buffer[offset:offset + length]
