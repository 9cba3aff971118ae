"""The harness fails a test when a process misbehaves: exits non-zero, hangs at shutdown,
or prints a sanitizer report; a deliberate kill and a clean stop are not failures."""

import importlib.util
import os
import shutil
import unittest

from harness import BIN_DIR, SOURCE_DIR, Stack, wait_for
from harness import stack as stack_mod

FAULT = os.path.join(BIN_DIR, "harness-fault")


class HarnessFailsTest(unittest.TestCase):
    def setUp(self):
        self.stack = Stack(self.id().split(".")[-1][:20], None, grace=2)
        self.addCleanup(shutil.rmtree, self.stack.dir, True)

    def start(self, name, *args, env=None):
        return self.stack.start(name, FAULT, env=env, args=args)

    def ready(self, p):
        wait_for(lambda: "fault: ready" in p.text(), 20, f"{p.name} to be ready")

    def close_fails(self):
        with self.assertRaises(AssertionError) as cm:
            self.stack.close()
        return str(cm.exception)

    def test_non_zero_exit_fails(self):
        p = self.start("quitter", "exit", "3")
        wait_for(lambda: not p.alive(), 20, "quitter to exit")
        self.ready(self.start("bystander", "clean"))
        msg = self.close_fails()
        self.assertIn("quitter", msg)
        self.assertIn("exited with status 3", msg)
        self.assertIn("fault: exiting with 3", msg)  # the log's tail
        self.assertNotIn("bystander", msg)

    def test_hang_at_shutdown_fails(self):
        p = self.start("stubborn", "ignore-term")
        self.ready(p)
        msg = self.close_fails()
        self.assertIn("stubborn", msg)
        self.assertIn("needed a forced kill: still running 2s after SIGTERM", msg)
        self.assertFalse(p.alive())

    def test_sanitizer_report_fails_even_with_exit_0(self):
        opts = "exitcode=0:suppressions=/dev/null"
        p = self.start("racy", "sanitizer",
                       env={"LSAN_OPTIONS": opts, "TSAN_OPTIONS": opts})
        self.assertEqual(p.expect_exit(60), 0)
        self.assertRegex(p.text(), r"ERROR: LeakSanitizer|WARNING: ThreadSanitizer")
        msg = self.close_fails()
        self.assertIn("racy", msg)
        self.assertIn("printed a sanitizer report", msg)

    def test_asan_error_fails(self):
        p = self.start("overflow", "overflow")
        wait_for(lambda: not p.alive(), 60, "overflow to stop")
        if p.popen.returncode == 77:
            p.exit_expected = True
            self.stack.close()
            self.skipTest("harness-fault has no AddressSanitizer in this (TSan) build")
        self.assertIn("ERROR: AddressSanitizer: heap-buffer-overflow", p.text())
        msg = self.close_fails()
        self.assertIn("overflow", msg)
        self.assertIn("printed a sanitizer report", msg)
        self.assertRegex(msg, r"exited with status [1-9]")

    def test_unexpected_signal_fails(self):
        p = self.start("crasher", "clean")
        self.ready(p)
        p.send_signal(9)
        wait_for(lambda: not p.alive(), 20, "crasher to die")
        msg = self.close_fails()
        self.assertIn("crasher", msg)
        self.assertIn("killed by SIGKILL", msg)

    def test_deliberate_kill_and_clean_stop_pass(self):
        victim = self.start("victim", "clean")
        calm = self.start("calm", "clean")
        self.ready(victim)
        self.ready(calm)
        self.assertEqual(self.stack.kill("victim"), -9)
        self.stack.close()  # raises on any problem
        self.assertEqual(calm.popen.returncode, 0)


class LeakFilterTest(unittest.TestCase):
    """tests/unit/lsan_nng_reaper.py lets through nng's reaper cycle and nothing else."""

    @classmethod
    def setUpClass(cls):
        path = os.path.join(SOURCE_DIR, "tests", "unit", "lsan_nng_reaper.py")
        spec = importlib.util.spec_from_file_location("lsan_nng_reaper", path)
        cls.m = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(cls.m)

    ALLOC = "    #0 0x7f in __interceptor_calloc asan_malloc_linux.cpp:77\n"
    NNG = "    #{} 0x7f  (/lib/x86_64-linux-gnu/libnng.so.1+0x18b5d)\n"

    def stack(self, *tail):
        frames = [self.NNG.format(1), self.NNG.format(2)]
        frames += [f"    #{i + 3} 0x5 in {t}\n" for i, t in enumerate(tail)]
        return self.ALLOC + "".join(frames)

    def test_reaper_cycle_passes(self):
        self.assertTrue(self.m.nng_cycle("Indirect", self.stack("start_thread nptl/p.c:442")))
        self.assertTrue(self.m.nng_cycle("Indirect", self.stack(
            "nng_dial (/lib/x86_64-linux-gnu/libnng.so.1+0x1430f)", "proto_sock_dial x.c:1")))

    def test_anything_else_fails(self):
        # a message we dropped: direct
        self.assertFalse(self.m.nng_cycle("Direct", self.stack("start_thread nptl/p.c:442")))
        # allocated by nng on our behalf (nng_msg_alloc from our code)
        self.assertFalse(self.m.nng_cycle("Indirect", self.stack(
            "nng_msg_alloc (/lib/x86_64-linux-gnu/libnng.so.1+0x1)", "proto_bytes_to_nng p.c:9",
            "start_thread nptl/p.c:442")))
        # our own allocation
        self.assertFalse(self.m.nng_cycle("Indirect", self.ALLOC + "    #1 0x5 in gw_call_new g.c:3\n"))

    def test_report_parsing(self):
        report = ("=================\n==1==ERROR: LeakSanitizer: detected memory leaks\n\n"
                  "Indirect leak of 464 byte(s) in 1 object(s) allocated from:\n"
                  + self.stack("start_thread nptl/p.c:442") + "\n"
                  "Direct leak of 64 byte(s) in 1 object(s) allocated from:\n"
                  + self.ALLOC + "    #1 0x5 in main t.c:1\n\nSUMMARY: x\n")
        blocks = self.m.BLOCK.findall(report)
        self.assertEqual([k for k, _ in blocks], ["Indirect", "Direct"])
        self.assertEqual([self.m.nng_cycle(k, s) for k, s in blocks], [True, False])


class SuppressionCapTest(unittest.TestCase):
    """A suppressed leak passes a few times (nng 1.5.2's, tests/lsan.supp), never often."""

    @staticmethod
    def log(count):
        return ("2026-12-01T00:00:00Z INFO  store stopped\n"
                "-----------------------------------------------------\n"
                "Suppressions used:\n  count      bytes template\n"
                f"      {count}        {count * 208} proto_bytes_to_nng\n"
                "-----------------------------------------------------\n")

    def test_parsed(self):
        self.assertEqual(stack_mod.suppressed_leaks(self.log(2)), [(2, "proto_bytes_to_nng")])
        self.assertEqual(stack_mod.suppressed_leaks("INFO  store stopped\n"), [])

    def test_a_few_pass_many_fail(self):
        self.assertEqual(stack_mod.suppression_problems(self.log(2)), [])
        cap = stack_mod.SUPPRESSED_MAX["proto_bytes_to_nng"]
        self.assertEqual(stack_mod.suppression_problems(self.log(cap)), [])
        problems = stack_mod.suppression_problems(self.log(cap + 1))
        self.assertEqual(len(problems), 1)
        self.assertIn("proto_bytes_to_nng", problems[0])
        # a test's own suppression file (nng #1518's listener leak) is not capped here
        other = self.log(cap + 50).replace("proto_bytes_to_nng", "libnng.so.1")
        self.assertEqual(stack_mod.suppression_problems(other), [])


if __name__ == "__main__":
    unittest.main()
