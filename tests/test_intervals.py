"""The time between two events is computed by the program from two verified dates, never taken
from the model; a question whose documents give no two dates is asked as it is."""

from rag import intervals
from rag.arithmetic import Comparison


def test_the_two_events_of_a_how_long_question():
    assert intervals.interval("How long was it between Sam's move and her first day at the lab?") == \
        Comparison("interval", "Sam's move", "her first day at the lab")
    assert intervals.interval("How many weeks passed between the survey and the vote?") == \
        Comparison("interval", "the survey", "the vote", unit="weeks")
    # "and" inside an event's name: the events divide before the word the second one opens with
    assert intervals.interval("How many years passed between the start of the Lake and River Act and "
                              "the founding of the port?") == \
        Comparison("interval", "the start of the Lake and River Act", "the founding of the port", unit="years")
    assert intervals.interval("How many years after the founding of the port was the bridge opened?") == \
        Comparison("interval", "the founding of the port", "the bridge opened", unit="years")
    assert intervals.interval("How many days before the vote did the strike end?") == \
        Comparison("interval", "the vote", "the strike end", unit="days")
    assert intervals.interval("How long did the strike last?") is None
    assert intervals.interval("Which came first, the survey or the vote?") is None
    assert intervals.interval("How many days passed between?") is None


def test_dates_are_read_as_texts_write_them():
    when = intervals.When
    assert intervals.dates_in("It opened on 7 March 2025 [1].") == [when(2025, 3, 7, "7 March 2025")]
    assert intervals.dates_in("[2025-03-07 10:35] Sam: see you Sept. 14", year=2025) == \
        [when(2025, 3, 7, "2025-03-07"), when(2025, 9, 14, "Sept. 14")]
    assert intervals.dates_in("It began in October 1973, the port in 1636.") == \
        [when(1973, 10, None, "October 1973"), when(1636, None, None, "1636")]
    assert intervals.dates_in("on March 7, 2025") == [when(2025, 3, 7, "March 7, 2025")]
    # a day and month without a year need the passage's year; amounts and "may" the verb are no dates
    assert intervals.dates_in("see you 14 September") == []
    assert intervals.dates_in("It costs $2025, 1,500 people 5 may come.") == []
    assert intervals.dates_in("on 31 February 2025") == [when(2025, 2, None, "February 2025")]  # no such day


def test_the_time_between_is_given_in_the_unit_asked():
    d = {text: intervals.dates_in(text)[0] for text in
         ("7 March 2025", "1 April 2025", "3 January 2025", "14 September 2025", "1636", "1816",
          "October 1973", "March 1974")}
    assert intervals.computed_sentence(d["1 April 2025"], d["7 March 2025"]) == \
        "From 7 March 2025 to 1 April 2025 is 25 days (computed)."
    assert intervals.between(d["7 March 2025"], d["1 April 2025"], "weeks") == "3 weeks and 4 days"
    assert intervals.between(d["3 January 2025"], d["14 September 2025"]) == "254 days, about 8 months"
    assert intervals.between(d["3 January 2025"], d["14 September 2025"], "months") == "8 months"
    assert intervals.between(d["1636"], d["1816"]) == "180 years"
    assert intervals.between(d["1636"], d["1816"], "days") is None  # years give no days
    assert intervals.between(d["October 1973"], d["March 1974"], "years") == "5 months"
    assert intervals.between(d["7 March 2025"], d["7 March 2025"]) is None


def test_a_time_span_the_program_did_not_count_must_be_stated_in_the_passages():
    passages = "The strike ended four days after the vote. The talks took 3 weeks."
    assert intervals.stated_spans("Four days after the vote [1].", passages)
    assert intervals.stated_spans("3 weeks [1]", passages)
    assert not intervals.stated_spans("5 days [1]", passages)  # the model's own count
    assert not intervals.stated_spans("After the vote [1].", passages)  # no span at all


def test_the_two_events_of_a_before_or_after_question():
    assert intervals.order("Did Sam move to Leeds before the lab opened?") == \
        Comparison("before", "Sam move to Leeds", "the lab opened")
    assert intervals.order("Was the vote held after the strike?") == Comparison("after", "the vote held", "the strike")
    assert intervals.order("Did it rain before the vote or the strike?") is None  # a choice
    assert intervals.order("Did the strike end?") is None


def test_the_order_of_two_dates_answers_yes_or_no_first():
    d = {text: intervals.dates_in(text)[0] for text in ("1598", "1754", "March 2025", "7 March 2025", "1 April 2025")}
    assert intervals.order_sentence(d["1598"], d["1754"], "before") == "Yes: 1598 is before 1754 (computed)."
    assert intervals.order_sentence(d["1598"], d["1754"], "after") == "No: 1598 is before 1754 (computed)."
    assert intervals.order_sentence(d["1 April 2025"], d["7 March 2025"], "after") == \
        "Yes: 1 April 2025 is after 7 March 2025 (computed)."
    assert intervals.order_sentence(d["March 2025"], d["7 March 2025"], "before") is None  # the same, to the month


def test_the_two_events_of_a_which_came_first_question():
    assert intervals.first_of("Which was founded first, and in what year: Harvard or the University of Warsaw?") == \
        Comparison("first", "Harvard", "the University of Warsaw")
    assert intervals.first_of("Which is older, the edict or the war?") == Comparison("first", "the edict", "the war")
    # several "or": the one after a comma divides; a comma inside an event stays
    assert intervals.first_of("Which was introduced first: t-SNE, by van der Maaten and Hinton, or iGANs?") == \
        Comparison("first", "t-SNE, by van der Maaten and Hinton", "iGANs")
    assert intervals.first_of("Which left earlier, the 9:00 or the 10:30 train?") == \
        Comparison("first", "the 9:00", "the 10:30 train")
    assert intervals.first_of("Which came first: the vote, the strike or the deal?") is None  # three to order
    assert intervals.first_of("Which came first: the ',' option or the '_' option?") == \
        Comparison("first", "the ',' option", "the '_' option")
    assert intervals.first_of("Which came first, and in which version: f-strings or walrus?") is None  # no date
    assert intervals.first_of("Which team came first?") is None
    assert intervals.first_of("What is the oldest building?") is None


def test_the_earlier_date_names_the_event_that_came_first():
    d = {text: intervals.dates_in(text)[0] for text in ("1598", "1754", "March 2025", "7 March 2025")}
    events = ("the edict", "the war")
    assert intervals.first_sentence(d["1598"], d["1754"], events) == "The edict came first: 1598 is before 1754 (computed)."
    assert intervals.first_sentence(d["1754"], d["1598"], events) == "The war came first: 1598 is before 1754 (computed)."
    assert intervals.first_sentence(d["March 2025"], d["7 March 2025"], events) is None  # the same, to the month


def test_the_date_a_file_is_named_by():
    assert intervals.name_date("2025-03-07_chat_with_Tom.txt") == "2025-03-07"
    assert intervals.name_date("20250307 standup notes.md") == "2025-03-07"
    assert intervals.name_date("diary 2025_03_07.txt") == "2025-03-07"
    assert intervals.name_date("003_1e363a2095f710fa.txt") is None  # digits, no date
    assert intervals.name_date("2025-02-30.txt") is None  # no such day
    assert intervals.name_date("2025-03_07.txt") is None  # one separator or none
    assert intervals.name_date("v12025030712.txt") is None  # within a longer number


def test_each_date_goes_to_the_event_whose_words_it_shares():
    dated = intervals.dated_phrases("Sam's first day at the lab was 2025-04-01, and Sam moved to Leeds on 2025-03-07.")
    assert [words.strip(" ,") for _, words in dated] == ["Sam's first day at the lab was 2025-04-01",
                                                         "and Sam moved to Leeds on 2025-03-07"]
    assert intervals.of_events(dated, "Sam's move to Leeds", "Sam's first day at the lab") == (1, 0)
    bare = intervals.dated_phrases("1598 1754")
    assert intervals.of_events(bare, "the edict", "the war") == (0, 1)  # no words: the order asked
