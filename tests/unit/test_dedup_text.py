"""Similarity normalisation: packaging goes, typography folds, the story's words stay."""

from __future__ import annotations

from processors.dedup.text import (
    hash32,
    shingle_hashes,
    shingles,
    similarity_text,
    story_paragraphs,
    word_tokens,
)

STORY = (
    "Israeli Prime Minister Benjamin Netanyahu told Russian President Vladimir Putin on Monday "
    "that Israel intends to eliminate the Hamas terrorist group in Gaza.\n"
    "“The prime minister made it clear that Israel had been attacked,” per a readout."
)


def test_header_and_trailer_debris_is_removed() -> None:
    wrapped = "\n".join(
        [
            "Politics",
            "Pinterest LinkedIn Tumblr",
            "Mon 16 Oct 2023 6:45 pm - Jerusalem Time",
            "By Jane Porter",
            STORY,
            "Reuters contributed to this report.",
            "(Reporting by Dan Williams; Editing by Mark Heinrich)",
            "This post appeared first on FOX NEWS",
            "Copyright 2023, LibertySociety.com",
            "Read more: Netanyahu tells Putin",
            "Share your opinion",
        ]
    )
    assert story_paragraphs(wrapped) == story_paragraphs(STORY)
    assert shingle_hashes(wrapped) == shingle_hashes(STORY)


def test_datelines_are_cut_from_paragraph_starts() -> None:
    for prefix in (
        "JERUSALEM (Reuters) - ",
        "MOSCOW, Oct 16 (Reuters) - ",
        "(LibertySociety.com) – ",
    ):
        assert story_paragraphs(prefix + STORY)[0].startswith("Israeli Prime Minister")


def test_quote_dash_case_and_whitespace_styles_fold_to_the_same_words() -> None:
    styled = STORY.replace("“", '"').replace("”", '"').replace(" ", "  ").upper()
    assert similarity_text(styled) == similarity_text(STORY)
    assert word_tokens('it\'s the u.s. 1,400-strong al-assad force -- "yes"') == [
        "it's",
        "the",
        "u.s",
        "1,400-strong",
        "al-assad",
        "force",
        "yes",
    ]


def test_prose_that_merely_mentions_a_photo_or_video_is_kept() -> None:
    prose = "Video footage showed soldiers entering the hospital compound at dawn."
    assert story_paragraphs(prose) == [prose]


def test_shingles_are_contiguous_word_five_grams() -> None:
    tokens = ["a", "b", "c", "d", "e", "f", "g"]
    assert shingles(tokens) == {"a b c d e", "b c d e f", "c d e f g"}
    assert shingles(["only", "three", "words"]) == {"only three words"}
    assert shingles([]) == set()


def test_hashes_are_stable_across_processes_and_sorted_unique() -> None:
    # A fixed value: Python's salted hash() would differ per process and break shared state.
    assert hash32("the prime minister made it") == 2746799702
    hashes = shingle_hashes(STORY + "\n" + STORY)
    assert list(hashes) == sorted(set(hashes))
    # The story twice adds only the shingles that straddle the seam, never repeats.
    assert set(shingle_hashes(STORY)) < set(hashes)
    assert len(hashes) == len(shingle_hashes(STORY)) + 4
