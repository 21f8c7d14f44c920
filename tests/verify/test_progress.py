"""The progress board (issue 11, point 11): a verification past 5 s says what it waits for,
once per wait that lasts, and again every 10 s."""

from __future__ import annotations

from acumatica_datasource.verify import ProgressBoard


def test_slow_verifications_are_due_once_per_wait() -> None:
    now = [0.0]
    board = ProgressBoard(clock=lambda: now[0])
    with board.track("erp", "ERP") as waiting_for, board.track("bi", "BI"):
        waiting_for("a free session slot")
        now[0] = 4.9
        assert board.due() == []
        now[0] = 5.0
        first = board.due()
        assert [w.line() for w in first] == [
            "still verifying ERP [erp] after 5 s: waiting for a free session slot",
            "still verifying BI [bi] after 5 s: waiting for its start",
        ]
        now[0] = 6.0
        assert board.due() == []
        waiting_for("the login")
        now[0] = 6.5
        assert board.due() == []  # a new wait is worth a line once it lasts
        now[0] = 7.1
        assert [w.waiting_for for w in board.due()] == ["the login"]
        now[0] = 15.1
        assert [w.data_source_id for w in board.due()] == ["bi"]
    assert board.due() == []
