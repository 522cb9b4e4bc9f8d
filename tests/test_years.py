"""An amount is checked against the year the question asks about (rag/years.py)."""

from rag import verify, years

DOC = ("Acme's report, 2023.\n"
       "Bolt has spent about $5 million on robots so far. For 2024 it expects spending to be flat.\n"
       "In 2024 Acme will spend $60 million. It will also hire 300 people.\n"
       "Cora raised $8 million from friends.")


def test_the_year_of_an_amount_is_its_sentence_or_the_last_one_before_it_in_its_paragraph():
    assert years.scope(DOC, DOC.index("$60 million")) == {"2024"}
    assert years.scope(DOC, DOC.index("300 people")) == {"2024"}  # "In 2024" scopes the next sentence
    assert years.scope(DOC, DOC.index("$5 million")) == set()  # 2024 belongs to the sentence after
    assert years.scope(DOC, DOC.index("$8 million")) is None  # its paragraph names no year


def test_an_amount_given_for_another_time_does_not_answer_a_question_about_a_year():
    bolt = DOC.splitlines()[1]
    assert years.out_of_time({"2024"}, "About $5 million.", [bolt], [DOC]) == \
        ["$5 million"]
    assert years.out_of_time(set(), "About $5 million.", [bolt], [DOC]) == []
    acme = DOC.splitlines()[2]
    assert years.out_of_time({"2024"}, "300 people.", [acme], [DOC]) == []
    cora = DOC.splitlines()[3]
    assert years.out_of_time({"2024"}, "$8 million.", [cora], [DOC]) == []


def test_verification_marks_the_sentence_unsupported_and_says_why():
    passages = {1: DOC.splitlines()[1], 2: DOC.splitlines()[2]}
    documents = {1: DOC, 2: DOC}
    (c,) = verify.check("Bolt has spent about $5 million [1].", passages, question="How much will Bolt spend in 2024?",
                        documents=documents)
    assert not c.supported and c.missing == ("$5 million in 2024",)
    (c,) = verify.check("Acme will spend $60 million [2].", passages, question="How much will Acme spend in 2024?",
                        documents=documents)
    assert c.supported


def test_a_year_its_paragraph_gives_a_passage_may_be_written_in_the_sentence():
    documents = {1: DOC}
    hire = {1: "It will also hire 300 people."}  # the paragraph's "In 2024" is its year
    (c,) = verify.check("In 2024 Acme will also hire 300 people [1].", hire, documents=documents)
    assert c.supported
    (c,) = verify.check("In 2024 Acme will also hire 300 people [1].", hire)
    assert not c.supported and "2024" in c.missing  # without its document the year is not found
    cora = {1: "Cora raised $8 million from friends."}  # its paragraph names no year
    (c,) = verify.check("In 2024 Cora raised $8 million [1].", cora, documents=documents)
    assert not c.supported and c.missing == ("2024",)


def test_a_date_stamp_is_when_a_message_was_written_not_the_year_its_amounts_are_for():
    message = "[2025-12-05 16:00] Jamal: I've just come out of the pay review. From January you'll be on £55,000."
    assert years.years("[2025-12-05 16:00] Jamal:") == set() and years.years("the 2025 review") == {"2025"}
    (c,) = verify.check("£55,000 [1].", {1: message}, question="What will Nadia's salary be from January 2026?",
                        documents={1: message})
    assert c.supported


def test_a_chat_exports_day_first_stamp_is_a_date_too():
    message = "05/12/2025, 16:00 - Jamal: I've just come out of the pay review. From January you'll be on £55,000."
    assert years.years(message) == set() and years.years("on 5.12.2025 and in 2026") == {"2026"}
    assert years.years("from 1990-2025") == {"1990", "2025"}
    (c,) = verify.check("£55,000 [1].", {1: message}, question="What will Nadia's salary be from January 2026?",
                        documents={1: message})
    assert c.supported
