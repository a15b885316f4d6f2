"""The GB 32100-2015 check character of the unified social credit code."""

from engine.contract.uscc import check_character, uscc_problem


def test_known_good_codes() -> None:
    """Codes from the contract's examples pass."""
    assert uscc_problem("91371500MA3C4XK2N2") is None
    assert uscc_problem("91371500MA3D7PQ1LM") is None


def test_check_character_zero_case() -> None:
    """When the weighted sum is a multiple of 31 the check character is '0', not '31'."""
    body = "00000000000000000"
    assert check_character(body) == "0"


def test_wrong_length_and_alphabet() -> None:
    """Length and alphabet problems are named before the check character is computed."""
    assert uscc_problem("91371500") == "must be 18 characters, got 8"
    assert "'I'" in uscc_problem("91371500MA3C4XKIN2")
