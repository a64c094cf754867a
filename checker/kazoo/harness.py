"""Runs kazoo's own test modules, unmodified, against a cluster given by its connect string.

kazoo's tests start and stop ZooKeeper through kazoo.testing.harness.get_global_cluster();
this harness replaces that one function, and nothing else, with a cluster made from the
connect string. A test that stops or starts a member has it done, through the control
address, by whoever started the cluster (`coord suite kazoo` does for the clusters it
starts); with no control address such a test is skipped as not applicable.

Prints passed/failed/skipped per module, then every failure: a failure listed in
expectations.py for this target is expected (with its reason), any other outcome is not;
the tests expectations.py lists as not applicable are not run.
Exits 0 when every outcome was expected, 1 otherwise, 2 when the harness cannot run.
"""

import argparse
import collections
import os
import signal
import socket
import sys
import tempfile

sys.dont_write_bytecode = True

import pytest  # noqa: E402
import kazoo.testing.harness  # noqa: E402

from expectations import KNOWN_FAILURES, NOT_APPLICABLE  # noqa: E402

# The test modules issue 15 names: kazoo's recipes and watchers, which must all pass.
RECIPES = ["test_lock", "test_election", "test_counter", "test_barrier", "test_queue",
           "test_party", "test_partitioner", "test_lease", "test_watchers", "test_cache"]
# The client's own tests, run too; their failures are listed in expectations.py.
CLIENT = ["test_client", "test_connection"]
GROUPS = {"recipes": RECIPES, "client": CLIENT, "all": RECIPES + CLIENT}


class Member:
    """One member of the cluster under test, as kazoo's ManagedZooKeeper presents it."""

    def __init__(self, index, address, control):
        self.index = index
        self.address = address
        self.host, port = address.rsplit(":", 1)
        self.client_port = int(port)
        self.control = control
        self.running = True

    def _ask(self, verb):
        if self.control is None:
            pytest.skip("not applicable: no control over the members of a cluster "
                        "given by --connect (a test needs to %s member %d)"
                        % (verb, self.index))
        host, port = self.control.rsplit(":", 1)
        with socket.create_connection((host, int(port)), timeout=180) as sock:
            sock.sendall(("%s %d\n" % (verb, self.index)).encode())
            answer = sock.makefile().readline().strip()
        if answer != "ok":
            raise RuntimeError("cannot %s member %d: %s" % (verb, self.index, answer))

    def run(self):
        if not self.running:
            self._ask("start")
            self.running = True

    def stop(self):
        if self.running:
            self._ask("stop")
            self.running = False


class Cluster:
    """The cluster under test, in place of kazoo's ZookeeperCluster."""

    def __init__(self, connect, control):
        self._members = [Member(i, address, control)
                         for i, address in enumerate(connect.split(","))]

    def __getitem__(self, k):
        return self._members[k]

    def __iter__(self):
        return iter(self._members)

    def __len__(self):
        return len(self._members)

    def start(self):
        for member in self._members:
            member.run()


class TestTimeout(Exception):
    pass


class Tally:
    """A pytest plugin: one outcome per test, a time limit per test, and the tests that
    are not applicable left out."""

    def __init__(self, seconds):
        self.seconds = seconds
        self.outcomes = collections.OrderedDict()  # test id -> (outcome, detail)

    def pytest_collection_modifyitems(self, config, items):
        left_out = [item for item in items if item_id(item) in NOT_APPLICABLE]
        for item in left_out:
            self.outcomes[item_id(item)] = ("not applicable", NOT_APPLICABLE[item_id(item)])
        if left_out:
            config.hook.pytest_deselected(items=left_out)
            items[:] = [item for item in items if item_id(item) not in NOT_APPLICABLE]

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_protocol(self, item, nextitem):
        def expire(signum, frame):
            raise TestTimeout("no outcome within %d s" % self.seconds)
        signal.signal(signal.SIGALRM, expire)
        signal.alarm(self.seconds)
        try:
            yield
        finally:
            signal.alarm(0)

    def pytest_runtest_logreport(self, report):
        test = test_id(report)
        outcome, detail = self.outcomes.get(test, ("passed", ""))
        if report.failed:
            phase = "" if report.when == "call" else " (in %s)" % report.when
            outcome, detail = "failed", last_line(report.longreprtext) + phase
        elif report.skipped and outcome != "failed":
            outcome, detail = "skipped", skip_reason(report)
        self.outcomes[test] = (outcome, detail)


def test_id(report):
    """`test_lock::KazooLockTests::test_lock` for a test's report."""
    return module_and_name(report.location[0], report.nodeid)


def item_id(item):
    return module_and_name(item.location[0], item.nodeid)


def module_and_name(path, nodeid):
    module = os.path.splitext(os.path.basename(path))[0]
    return module + "::" + nodeid.partition("::")[2]


def last_line(text):
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1].strip() if lines else ""


def skip_reason(report):
    longrepr = report.longrepr
    if isinstance(longrepr, tuple) and len(longrepr) == 3:
        return longrepr[2].replace("Skipped: ", "")
    return str(longrepr)


def report(tally, modules, target, connect):
    known = KNOWN_FAILURES.get(target, {})
    counts = collections.OrderedDict((m, collections.Counter()) for m in modules)
    unexpected = []
    for test, (outcome, detail) in tally.outcomes.items():
        counts[test.split("::")[0]][outcome] += 1
        if outcome == "failed" and test not in known:
            unexpected.append("FAILED  %s: %s" % (test, detail))
        elif outcome in ("passed", "skipped") and test in known:
            unexpected.append("%s  %s, listed as a known failure: %s"
                              % (outcome.upper(), test, known[test]))
    print()
    print("kazoo's tests against %s (%s):" % (target, connect))
    print("%-20s %7s %7s %7s %15s"
          % ("module", "passed", "failed", "skipped", "not applicable"))
    for module, c in counts.items():
        print("%-20s %7d %7d %7d %15d" % (module, c["passed"], c["failed"], c["skipped"],
                                          c["not applicable"]))
    total = sum(counts.values(), collections.Counter())
    for test, (outcome, detail) in tally.outcomes.items():
        if outcome == "failed" and test in known:
            print("known failure  %s: %s" % (test, known[test]))
    for test, (outcome, detail) in tally.outcomes.items():
        if outcome in ("skipped", "not applicable"):
            print("%s  %s: %s" % (outcome, test, detail))
    for line in unexpected:
        print(line)
    print("kazoo: %d passed, %d failed, %d skipped; %d not applicable, %d unexpected"
          % (total["passed"], total["failed"], total["skipped"], total["not applicable"],
             len(unexpected)))
    return not unexpected


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connect", required=True, help="host:port,host:port,...")
    parser.add_argument("--control", help="host:port that stops and starts members")
    parser.add_argument("--target", default="other",
                        help="what the cluster is (zookeeper, coord): selects the "
                             "known failures")
    parser.add_argument("--modules", default="recipes",
                        help="comma separated test modules or groups (%s)"
                             % ", ".join(GROUPS))
    parser.add_argument("--filter", help="only the tests matching this pytest -k "
                                         "expression")
    parser.add_argument("--test-timeout", type=int, default=180,
                        help="seconds a test may take before it fails")
    args = parser.parse_args()

    modules = []
    for name in args.modules.split(","):
        for module in GROUPS.get(name, [name]):
            if module not in modules:
                modules.append(module)

    cluster = Cluster(args.connect, args.control)
    # The one replacement: kazoo's harness asks this function for its cluster.
    kazoo.testing.harness.get_global_cluster = lambda: cluster

    tally = Tally(args.test_timeout)
    with tempfile.TemporaryDirectory(prefix="kazoo-harness-") as rootdir:
        # An empty configuration of our own, so that no pytest.ini nearby applies. No
        # short summary (-rN): it names tests by paths relative to that directory, and
        # the report below names every failure by module.
        ini = os.path.join(rootdir, "pytest.ini")
        open(ini, "w").close()
        pytest_args = ["-c", ini, "--rootdir", rootdir, "-p", "no:cacheprovider",
                       "-p", "no:warnings", "-rN",
                       "-q", "--pyargs"] + ["kazoo.tests." + m for m in modules]
        if args.filter:
            pytest_args += ["-k", args.filter]
        code = pytest.main(pytest_args, plugins=[tally])
    if code not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
        print("kazoo harness: pytest could not run the tests (exit %s)" % code)
        return 2
    return 0 if report(tally, modules, args.target, args.connect) else 1

if __name__ == "__main__":
    sys.exit(main())
