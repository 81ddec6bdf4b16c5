"""A client of Quiver's native protocol (docs/PROTOCOL.md) in plain Python.

    python3 quiver_client.py HOST:PORT 'QUERY' [VARIABLES_JSON]

prints the response object.
"""
import json
import socket
import struct
import sys


class Client:
    def __init__(self, host, port, token=None):
        self.sock = socket.create_connection((host, port))
        self._send({"hello": "quiver/1", "token": token})
        reply = self._recv()
        if "hello" not in reply:
            raise ConnectionError(reply["error"]["message"])
        self.next_id = 0

    def _send(self, obj):
        body = json.dumps(obj).encode()
        self.sock.sendall(struct.pack(">I", len(body)) + body)

    def _exactly(self, n):
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise ConnectionError("the server closed the connection")
            data += chunk
        return data

    def _recv(self):
        (n,) = struct.unpack(">I", self._exactly(4))
        return json.loads(self._exactly(n))

    def execute(self, query, variables=None, operation=None):
        """Runs one request; returns the response object (with "data" and/or "errors")."""
        self.next_id += 1
        request = {"id": self.next_id, "query": query}
        if variables is not None:
            request["variables"] = variables
        if operation is not None:
            request["operationName"] = operation
        self._send(request)
        reply = self._recv()
        if "error" in reply:
            raise RuntimeError(reply["error"]["message"])
        assert reply.pop("id") == self.next_id
        return reply

    def close(self):
        self.sock.close()


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    client = Client(host, int(port))
    variables = json.loads(sys.argv[3]) if len(sys.argv) > 3 else None
    print(json.dumps(client.execute(sys.argv[2], variables), separators=(",", ":")))
    client.close()
