"""The session's 5xx check (``pytest_sessionfinish``) can fail, and says why."""

from __future__ import annotations

from tests.server_process import Entry, ResponseLog, session_problems


def test_an_unexplained_500_is_a_problem_and_a_known_bug_is_not() -> None:
    log = ResponseLog()
    log.entries.append(Entry("live", "POST", "/recommend", 200, "t::ok", None))
    assert session_problems(log) == []
    log.entries.append(Entry("live", "POST", "/check", 500, "t::bad", None))
    log.entries.append(Entry("live", "POST", "/x", 500, "t::known", "bug 7"))
    log.entries.append(Entry("live", "GET", "/readyz", 503, "t::not-ready", None))
    problems = session_problems(log)
    assert len(problems) == 1 and "/check -> 500" in problems[0] and "t::bad" in problems[0]


def test_a_500_the_tests_did_not_receive_is_a_problem() -> None:
    log = ResponseLog()
    log.entries.append(Entry("live", "POST", "/x", 500, "t::known", "bug 7"))
    log.served_5xx["live"] = 1
    assert session_problems(log) == []
    log.served_5xx["live"] = 2  # the server counted one more than any test saw
    assert "counted 2 responses 500" in session_problems(log)[0]
