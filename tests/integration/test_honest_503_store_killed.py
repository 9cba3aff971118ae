"""A 503 means nothing was stored, or its retry lands on the same incident, with the
store killed under steady load (issue 11's second measured case)."""

import unittest

from test_honest_503 import Honest503Base


class StoreKilledTest(Honest503Base):
    def test_store_killed_under_load(self):
        accepted, refused, sent = self.store_killed_under_load(8, "load", 60, 30)
        stored_before = self.check_acknowledged_and_refused(accepted, refused)
        print(f"\nstore killed: sent {sent}, 202 {len(accepted)}, 503 {len(refused)}, "
              f"of which committed before the retry {stored_before} (each retry matched it)",
              flush=True)


if __name__ == "__main__":
    unittest.main()
