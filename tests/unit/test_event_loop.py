"""The services run on the event loop their settings name (ADR 0011)."""

import asyncio

import pytest
import uvloop
from pydantic import ValidationError

from shared.runtime import run_on_event_loop
from shared.settings import ServiceSettings, configuration_error


@pytest.mark.parametrize(("name", "loop_type"), [("uvloop", uvloop.Loop), ("asyncio", asyncio.BaseEventLoop)])
def test_the_named_loop_runs_the_service(name: str, loop_type: type) -> None:
    seen: list[asyncio.AbstractEventLoop] = []

    async def serve() -> None:
        seen.append(asyncio.get_running_loop())

    run_on_event_loop(serve(), name)

    assert isinstance(seen[0], loop_type)
    assert isinstance(seen[0], uvloop.Loop) == (name == "uvloop")


def test_uvloop_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("EVENT_LOOP", raising=False)
    assert ServiceSettings().event_loop == "uvloop"


def test_an_unknown_loop_is_a_configuration_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("EVENT_LOOP", "trio")
    with pytest.raises(ValidationError) as caught:
        ServiceSettings()
    assert configuration_error(caught.value).startswith("configuration error: EVENT_LOOP:")
