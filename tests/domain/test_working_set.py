from arqium.domain.memory.workingset import conversation_text, pack, prompt_text


def test_memories_are_taken_in_rank_order_while_they_fit():
    assert pack([10, 20, 30], 100) == ([0, 1, 2], 60)


def test_a_memory_too_large_for_what_is_left_is_skipped_for_smaller_ones():
    assert pack([60, 50, 30], 100) == ([0, 2], 90)


def test_the_total_never_exceeds_the_budget():
    assert pack([101, 100], 100) == ([1], 100)
    assert pack([5], 4) == ([], 0)


def test_a_memory_is_written_into_a_prompt_as_key_and_content():
    assert prompt_text("editor", {"theme": "dark"}) == 'editor: {"theme": "dark"}'
    assert prompt_text("name", "Ada") == "name: Ada"


def test_a_conversation_is_what_the_user_and_the_assistant_said_newest_first():
    messages = [{"role": "system", "content": "be brief"},
                {"role": "user", "content": "when is my dentist appointment?"},
                {"role": "assistant", "content": "on Tuesday"},
                {"role": "tool", "content": "calendar lookup"}]
    assert conversation_text(messages) == "on Tuesday\nwhen is my dentist appointment?"
    assert conversation_text([]) == ""
