"""The single answer is serialised once: its log row and its body are the same JSON.

``/recommend`` serialises the answer without its id, stores that text as the row's
answer and sends it with the id put in (:func:`serving.service._with_id`). These tests
hold that shortcut to what it replaces: the body equals ``model_dump_json()`` of the
answer with its id set, and the logged text equals it with the id null.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from features.schemas import Application
from serving.answer_log import AnswerLog
from serving.core import Recommender
from serving.examples import EXAMPLES
from serving.logbook import Logbook, LogbookSettings
from serving.model.predictor import CapacityModel
from serving.service import _with_id


@pytest.fixture(scope="module")
def recommender(trained_model: CapacityModel) -> Recommender:
    return Recommender(trained_model, "test-1")


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_the_body_is_the_answer_serialised_with_its_id(recommender: Recommender, name: str) -> None:
    rec = recommender.recommend(Application.model_validate(EXAMPLES[name]))
    text = rec.model_dump_json()
    rid = "0123456789abcdef0123456789abcdef"
    assert _with_id(text, None) == text
    rec.id = rid
    assert _with_id(text, rid) == rec.model_dump_json()


def test_the_logged_answer_is_the_text_it_was_given(
    recommender: Recommender, tmp_path: Path
) -> None:
    app = Application.model_validate(EXAMPLES["machinery_workshop"])
    rec = recommender.recommend(app)
    text = rec.model_dump_json()
    settings = LogbookSettings(url=f"sqlite:///{tmp_path / 'log.db'}", spool_dir=tmp_path)
    with Logbook.open(settings) as book:
        rid = AnswerLog(book).one(app, rec, "api", answer_json=text)
        assert rid is not None
        logged = book.get(rid)
        assert logged is not None
        # The same text a second serialisation would have stored (id still null).
        assert logged.response_json == text == rec.model_dump_json()
        assert logged.recommended_kva == rec.recommended_kva
