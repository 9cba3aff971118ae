"""Several gateways side by side on one store: each serves its own clients, every one
sees every change live, and losing one does not disturb the other."""

import unittest

from harness import PipelineTest, SSEStream, free_port, wait_for


class SideBySideTest(PipelineTest):
    def test_two_gateways_share_one_store(self):
        self.stack.start_store()
        self.stack.start_gateway()
        port2 = free_port()
        self.stack.start_gateway(name="gateway2", env={"TRIAGE_HTTP_PORT": str(port2)})
        self.stack.wait_ready()
        self.stack.start_enricher("e1", llm="rules")
        streams = [SSEStream(self.stack.http_port), SSEStream(port2)]
        for s in streams:
            self.addCleanup(s.close)
            self.assertEqual(s.status, 200)
            wait_for(lambda s=s: s.events("hello"), 10, "the hello frame")

        # Submitted through the second gateway, read through the first.
        r = self.stack.request("POST", "/incidents", {"title": "Load balancer 502s",
                                                      "description": "edge LB returns 502"},
                               port=port2)
        self.assertEqual(r.status, 202, r)
        iid = r.json["id"]
        self.assertEqual(self.stack.request("GET", f"/incidents/{iid}").json["id"], iid)
        # Both streams see it go to triaged.
        for s in streams:
            wait_for(lambda s=s: any(f["data"]["id"] == iid and f["data"]["status"] == "triaged"
                                     for f in s.events("incident")), 20,
                     "the triaged event on both gateways' streams")

        # One gateway stops: the other keeps answering and streaming.
        self.assertEqual(self.stack.stop("gateway2"), 0)
        r = self.stack.request("POST", "/incidents", {"title": "after", "description": ""})
        self.assertEqual(r.status, 202, r)
        wait_for(lambda: any(f["data"]["id"] == r.json["id"]
                             for f in streams[0].events("incident")), 20,
                 "the new incident on the remaining gateway's stream")


if __name__ == "__main__":
    unittest.main()
