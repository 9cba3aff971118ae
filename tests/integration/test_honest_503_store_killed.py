"""A 503 means nothing was stored, or its retry lands on the same incident, with the
store killed under steady load (issue 11's second measured case)."""

import threading
import unittest

from harness import wait_for
from test_honest_503 import Honest503Base


class StoreKilledTest(Honest503Base):
    def test_store_killed_under_load(self):
        accepted, refused, lock, stop = [], [], threading.Lock(), threading.Event()
        counter = [0]

        def client(n):
            i = 0
            while not stop.is_set():
                body = {"title": f"load {n}-{i}", "description": "steady"}
                i += 1
                r = self.post(body)
                with lock:
                    counter[0] += 1
                    if r.status == 202:
                        accepted.append((body, r.json["id"]))
                    elif r.status == 503:
                        refused.append(body)
                    else:
                        raise AssertionError(r)

        threads = [threading.Thread(target=client, args=(n,)) for n in range(8)]
        for t in threads:
            t.start()
        try:
            wait_for(lambda: len(accepted) >= 60, 60, "60 acknowledged submits")
            self.stack.kill("store")
            wait_for(lambda: len(refused) >= 8, 60, "503s while the store is down")
            self.stack.start_store()
            self.stack.wait_ready()
            n = len(accepted)
            wait_for(lambda: len(accepted) >= n + 30, 60, "submits accepted again")
        finally:
            stop.set()
            for t in threads:
                t.join(30)
        for body, iid in accepted:
            self.assertEqual(self.rows_titled(body["title"]), [iid], body)
        stored_before = self.check_retries(refused)
        total = int(self.stack.scalar("SELECT count(*) FROM incidents"))
        self.assertEqual(total, len(accepted) + len(refused))
        print(f"\nstore killed: sent {counter[0]}, 202 {len(accepted)}, 503 {len(refused)}, "
              f"of which committed before the retry {stored_before} (each retry matched it)",
              flush=True)


if __name__ == "__main__":
    unittest.main()
