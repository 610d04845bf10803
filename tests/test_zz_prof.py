import time
from fastapi.testclient import TestClient
from arqium.api.app import create_app

def test_timing(settings):
    for i in range(4):
        app = create_app(settings)
        s=time.perf_counter()
        with TestClient(app) as c:
            a=time.perf_counter()
            c.get("/api/v1/health")
            b=time.perf_counter()
        d=time.perf_counter()
        print(f"enter {a-s:.3f}s req {b-a:.3f} exit {d-b:.3f}s")
