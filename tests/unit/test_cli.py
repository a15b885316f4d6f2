"""The command line: help everywhere, --version, completion scripts, progress bars and colour."""

from __future__ import annotations

import argparse
import io
import os
import shutil
import stat
import subprocess
import sys
from importlib import metadata
from pathlib import Path

import pytest
import structlog

from engine import logs
from engine.broker import install
from engine.cli import main, parser
from engine.completion import bash, commands, walk, zsh
from engine.progress import Bar, is_terminal
from engine.settings import REPO_ROOT


class FakeStream(io.StringIO):
    """A text stream that says whether it is a terminal."""

    def __init__(self, tty: bool) -> None:
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        """What the test said this stream is."""
        return self.tty


def _parsers(p: argparse.ArgumentParser, path: str = "hazard-engine"):
    yield path, p
    for action in p._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            for name, sub in action.choices.items():
                assert helps.get(name), f"subcommand `{path} {name}` has no help"
                yield from _parsers(sub, f"{path} {name}")


def test_every_subcommand_and_option_has_help() -> None:
    """Walking the whole parser tree finds no subcommand, option or positional without help."""
    missing = []
    for path, p in _parsers(parser()):
        assert p.description, f"`{path} --help` does not say what the command is for"
        for action in p._actions:
            if isinstance(action, argparse._SubParsersAction):
                continue
            if not (action.help and action.help.strip()) or action.help == argparse.SUPPRESS:
                missing.append(f"{path} {'/'.join(action.option_strings) or action.dest}")
    assert not missing, f"without help: {missing}"


def test_version_prints_package_and_rules_versions(capsys: pytest.CaptureFixture[str]) -> None:
    """--version prints the installed package version and the rules' versions, and exits 0."""
    with pytest.raises(SystemExit) as done:
        main(["--version"])
    assert done.value.code == 0
    out = capsys.readouterr().out.strip()
    assert out.startswith(f"hazard-engine {metadata.version('hazard-engine')}")
    assert "rules 2026." in out and "alert rules" in out


def test_version_answers_even_with_a_broken_configuration(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A bad --config does not stop --version; it falls back to the bundled rules."""
    bad = tmp_path / "c.yaml"
    bad.write_text("nonsense_key: 1\n")
    with pytest.raises(SystemExit):
        main(["--config", str(bad), "--version"])
    assert capsys.readouterr().out.startswith("hazard-engine ")


def _all_paths() -> list[str]:
    return [" ".join(c.path) for c in commands(walk(parser()))]


@pytest.mark.parametrize("shell", [bash, zsh])
def test_completion_scripts_mention_every_subcommand_and_option(shell) -> None:
    """Each script knows every command path and every option of the tree."""
    script = shell(parser())
    for path in _all_paths():
        assert f"'{path}'" in script, path
    for command in commands(walk(parser())):
        for option in command.options:
            assert option in script


def test_completion_command_prints_the_script(capsys: pytest.CaptureFixture[str]) -> None:
    """`hazard-engine completion bash` prints the same script the generator makes."""
    assert main(["completion", "bash"]) == 0
    assert capsys.readouterr().out == bash(parser())


def _bash_complete(script: str, words: list[str]) -> list[str]:
    program = (f"{script}\nCOMP_WORDS=({' '.join(repr(w) for w in words)}); "
               f"COMP_CWORD={len(words) - 1}; _hazard_engine; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
    done = subprocess.run(["bash", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    return [w for w in done.stdout.splitlines() if w]


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_completion_completes_commands_options_and_choices() -> None:
    """In bash, the script offers subcommands, then options after a dash, then option choices."""
    script = bash(parser())
    assert set(_bash_complete(script, ["hazard-engine", "bro"])) == {"broker"}
    assert set(_bash_complete(script, ["hazard-engine", "broker", ""])) == {"up", "down", "status"}
    assert "--secure" in _bash_complete(script, ["hazard-engine", "broker", "up", "--"])
    assert _bash_complete(script, ["hazard-engine", "--con"]) == ["--config"]
    assert set(_bash_complete(script, ["hazard-engine", "watch", "--tier", ""])) == {
        "blue", "yellow", "orange", "red"}
    assert set(_bash_complete(script, ["hazard-engine", "completion", ""])) == {"bash", "zsh"}


def test_zsh_completion_parses_and_offers_subcommands() -> None:
    """In zsh (completion functions stubbed), the script offers a command's subcommands."""
    assert shutil.which("zsh"), "zsh is not installed: run `hazard-engine setup` (apt-get)"
    program = ("compdef() { :; }; _describe() { print -l -- ${(P)4}; }; _files() { :; }\n"
               + zsh(parser())
               + "\nwords=(hazard-engine config ''); CURRENT=3; PREFIX=''; _hazard_engine\n")
    done = subprocess.run(["zsh", "-f", "-c", program], capture_output=True, text=True, timeout=30)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["show:print every setting, its value and where it came from "
                                        "(default, file, secrets, env); secrets masked"]


def test_bar_is_silent_when_not_a_terminal() -> None:
    """Off a terminal steps draw nothing; messages still print as plain lines."""
    stream = FakeStream(tty=False)
    with Bar("work", total=3, stream=stream) as bar:
        bar.step()
        bar("a message")
        bar.step(2)
    assert stream.getvalue() == "a message\n"


def test_bar_draws_on_a_terminal_and_ends_its_line() -> None:
    """On a terminal the bar redraws in place with counts, and closing ends the line."""
    stream = FakeStream(tty=True)
    with Bar("work", total=4, stream=stream, interval=0) as bar:
        bar.step(detail="one.yaml")
        bar.step(3)
    text = stream.getvalue()
    assert "\r\x1b[K" in text and "1/4" in text and "4/4 100%" in text and "one.yaml" in text
    assert text.endswith("\n")


def test_bar_redraws_at_most_once_per_interval() -> None:
    """Many quick steps cost one redraw per interval, plus the final one."""
    now = [0.0]
    stream = FakeStream(tty=True)
    bar = Bar("work", total=1000, stream=stream, interval=1.0, clock=lambda: now[0])
    for _ in range(999):
        bar.step()
    assert stream.getvalue().count("\r") == 1
    now[0] = 2.0
    bar.step()
    assert stream.getvalue().count("\r") == 2 and "1000/1000" in stream.getvalue()


def test_bar_message_on_a_terminal_goes_above_the_bar() -> None:
    """A message clears the bar's line, prints, and the bar comes back below it."""
    stream = FakeStream(tty=True)
    bar = Bar("jars", stream=stream, interval=0)
    bar.step(detail="kafka.jar")
    bar("installing")
    assert stream.getvalue().endswith("\r\x1b[Kinstalling\n\r\x1b[Kjars / 1  kafka.jar")


def test_is_terminal_copes_with_closed_and_odd_streams() -> None:
    """A closed stream or an object without isatty is not a terminal."""
    closed = io.StringIO()
    closed.close()
    assert not is_terminal(closed) and not is_terminal(object()) and not is_terminal(None)


@pytest.mark.parametrize("no_color, tty, expected", [
    ("", True, True), ("1", True, False), ("", False, False)])
def test_colour_only_on_a_terminal_and_never_with_no_color(
        monkeypatch: pytest.MonkeyPatch, no_color: str, tty: bool, expected: bool) -> None:
    """use_colour: NO_COLOR (any non-empty value) wins; otherwise only a terminal gets colour."""
    monkeypatch.setenv("NO_COLOR", no_color)
    assert logs.use_colour(FakeStream(tty)) is expected


def test_console_logs_are_not_coloured_with_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI's structlog console renderer is built without colour when NO_COLOR is set."""
    monkeypatch.setenv("NO_COLOR", "1")
    monkeypatch.setattr("sys.stderr", FakeStream(tty=True))
    try:
        logs.configure_console()
        renderer = structlog.get_config()["processors"][-1]
        assert isinstance(renderer, structlog.dev.ConsoleRenderer) and renderer.colors is False
    finally:
        structlog.reset_defaults()


def test_kafka_install_counts_maven_downloads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """With a Bar as progress, each `Downloaded from` line of Maven is one step of the bar."""
    fake = tmp_path / "bin" / "mvn"
    fake.parent.mkdir()
    fake.write_text("#!/bin/sh\n"
                    "for a in \"$@\"; do case $a in -DoutputDirectory=*) out=${a#*=};; esac; done\n"
                    "mkdir -p \"$out\" && touch \"$out/kafka_2.13-4.4.0.jar\"\n"
                    "echo 'Downloading from central: https://repo/x/a-1.jar'\n"
                    "echo 'Downloaded from central: https://repo/x/a-1.jar (10 kB at 1 MB/s)'\n"
                    "echo 'Downloaded from central: https://repo/y/b-2.pom (1 kB at 1 MB/s)'\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{fake.parent}:/usr/bin:/bin")
    stream = FakeStream(tty=True)
    bar = Bar("jars", stream=stream, interval=0)
    install._run_maven(tmp_path, tmp_path / "libs", bar)
    assert bar.done == 2 and bar.detail == "b-2.pom"
    silent = FakeStream(tty=False)
    install._run_maven(tmp_path, tmp_path / "libs2", Bar("jars", stream=silent))
    assert silent.getvalue() == ""


def test_rule_tests_draw_no_bar_when_stderr_is_not_a_terminal(
        capsys: pytest.CaptureFixture[str]) -> None:
    """`rules test` over many files prints results but no carriage returns into a pipe."""
    files = sorted(str(p) for p in (REPO_ROOT / "rules" / "tests").glob("*.yaml"))[:3]
    assert main(["rules", "test", *files]) == 0
    captured = capsys.readouterr()
    assert "3 passed, 0 failed" in captured.out and "\r" not in captured.err


def test_no_broker_and_bad_rules_are_said_in_one_line_never_a_traceback(
        monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`show` with no broker at the address, and `plan draw` on a rules file with a mistake, printed
    a Python traceback; each now says what is wrong in one line and exits 2."""
    from engine.settings import REPO_ROOT

    monkeypatch.setenv("KAFKA_BOOTSTRAP_SERVERS", "127.0.0.1:9")  # nothing listens on the discard port
    assert main(["show", "HZ-1"]) == 2
    # Its last word: aiokafka's own log line about the connection may come before it (and a handler
    # an earlier test left on a closed stream may report itself), but the command ends in one line.
    last = capsys.readouterr().err.strip().splitlines()[-1]
    assert last.startswith("hazard-engine: the broker did not answer: KafkaConnectionError")
    rules = tmp_path / "rules"
    shutil.copytree(REPO_ROOT / "rules", rules)
    hazards = rules / "hazards.yaml"
    hazards.write_text(hazards.read_text().replace("rectify_within: 7 days", "rectify_within: 3 dayz", 1))
    monkeypatch.setenv("HAZARD_RULES_DIR", str(rules))
    assert main(["plan", "draw", "--period", "2026-12", "--seed", "x"]) == 2
    err = capsys.readouterr().err
    assert "'3 dayz' is not a duration" in err and "Traceback" not in err


def test_watch_by_tier_keeps_the_alerts_of_the_same_colour_and_takes_levels() -> None:
    """`watch --tier orange --tier red` (README's example) dropped every alert's escalation, which
    carries a response level and no tier; now a tier passes the level of its colour, `--level` names
    levels, and the two together pass a hazard's by tier and an alert's by level."""
    from engine.feeds.filters import Filters
    from engine.tools.watch import wanted

    def esc(tier: str | None = None, level: str | None = None) -> dict:
        return {"type": "safety.escalation.raised", "data": {
            "town": "huxi", "tier": tier, "response_level": level, "action": "summon", "targets": []}}

    def passes(query: dict[str, str]) -> set[str]:
        filters = Filters.from_query(query)
        found = {f"tier {t}" for t in ("blue", "yellow", "orange", "red")
                 if wanted(esc(tier=t), filters, None)}
        return found | {f"level {lv}" for lv in ("IV", "III", "II", "I")
                        if wanted(esc(level=lv), filters, None)}

    assert passes({"tier": "orange,red"}) == {"tier orange", "tier red", "level II", "level I"}
    assert passes({"level": "I"}) == {"level I"}
    assert passes({"tier": "red", "level": "I,II"}) == {"tier red", "level I", "level II"}
    assert len(passes({})) == 8 and passes({"tier": "red", "town": "yuji"}) == set()
    args = parser().parse_args(["watch", "--tier", "red", "--level", "I", "--level", "II"])
    assert args.tier == ["red"] and args.level == ["I", "II"]


def test_tail_help_names_a_topic_that_exists() -> None:
    """`tail --help` gave `safety.intake.rejected`, which answers "No topic"."""
    topics = (REPO_ROOT / "topics" / "topics.yaml").read_text()
    tail = parser()._subparsers._group_actions[0].choices["tail"]  # type: ignore[union-attr]
    help_text = tail.format_help()
    assert "safety.intake.rejected" not in help_text
    assert "intake.rejected" in help_text and "intake.rejected" in topics


def test_show_says_an_unknown_hazard_once_and_an_alerts_id_for_what_it_is(
        monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    from engine.tools import show

    async def nothing(*_: object, **__: object) -> tuple[None, list]:
        return None, []

    monkeypatch.setattr(show, "load", nothing)
    assert show.run("b", "p.", "app", "HZ-NOPE", as_json=False) == 1
    out, err = capsys.readouterr()
    assert out == "" and err.count("HZ-NOPE") == 1

    async def an_alerts(*_: object, **__: object) -> tuple[None, list]:
        return None, [{"time": "2026-12-05T17:00:00+08:00", "type": "safety.alert.raised", "event_id": "e1"}]

    monkeypatch.setattr(show, "load", an_alerts)
    assert show.run("b", "p.", "app", "AL-1", as_json=False) == 0
    out = capsys.readouterr().out
    assert out.startswith("AL-1: no hazard of this id") and "GET /alerts/{id}" in out


def test_a_pipe_closed_early_ends_the_command_quietly(tmp_path: Path) -> None:
    """`hazard-engine … | head` ended in a BrokenPipeError traceback once head stopped reading."""
    script = tmp_path / "chatty.py"
    script.write_text("import sys\nfrom engine import cli\nfrom engine.tools import show\n"
                      "def chatty(*_, **__):\n    for _ in range(100000):\n        print('x' * 80)\n"
                      "    return 0\nshow.run = chatty\nsys.exit(cli.main(['show', 'HZ-1']))\n")
    # A broker address, so that `show` gets past looking for one whether or not a local broker is up
    # (none is reached: `show.run` is the chatty stand-in).
    env = {**os.environ, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"}
    run = subprocess.run(f"'{sys.executable}' '{script}' | head -n 1", shell=True, capture_output=True,
                         text=True, timeout=60, cwd=REPO_ROOT, env=env)
    assert run.stdout == "x" * 80 + "\n"
    assert "Traceback" not in run.stderr and "BrokenPipeError" not in run.stderr


def test_show_says_a_hazard_is_overdue_and_which_referrals_stand_or_were_withdrawn() -> None:
    """`show HZ-000169` never said the hazard was overdue (its deadline nine days past, no claim),
    nor which referrals stood or were withdrawn, nor that its record is in the order of arrival."""
    from decide_fixtures import at, report, run, verify

    from engine.tools.show import render

    rp = run(report("HZ-S", "2026-12-01 09:00"), verify("HZ-S", "2026-12-02 09:00"), until="2026-12-28 08:00")
    h = rp.states["HZ-S"]
    assert h.deadline is not None and h.overdue(at("2026-12-28 08:00"))
    page = render(h, [], "HZ-S", now=at("2026-12-28 08:00"))
    assert "OVERDUE" in page and "in the order the engine took each step" in page
    assert "OVERDUE" not in render(h, [], "HZ-S", now=h.deadline - 60)
    h.referred = ["referral.duty_failures:fire_rescue", "withdrawn:referral.duty_failures:safety_bureau"]
    assert ("referrals: referral.duty_failures:fire_rescue; withdrawn: referral.duty_failures:safety_bureau"
            in render(h, [], "HZ-S"))
