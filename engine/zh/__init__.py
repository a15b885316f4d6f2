"""The engine's words in Chinese, for the people who read its outputs and pages.

    words.py   names of the identifiers the outputs and views carry (actions, rules, grades...)
    record.py  a subject's record lines, read back from their English shapes into Chinese

Pure: the board's pages and the cores' referrals both use it, so it imports neither.
"""
