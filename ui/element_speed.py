"""A faster answer to the question NiceGUI asks three times for every element it creates.

Each element's props, classes and style are observable collections, and each asks
`helpers.expects_arguments(on_change)`, which builds an `inspect.signature` of a bound method: a third of the CPU
an element costs, and a page of a few hundred elements pays it a thousand times. The answer depends only on the
function's code, whether it is bound and which parameters have defaults, so it is remembered by exactly that;
anything else (partials, wrapped functions, callable objects) still goes to NiceGUI's own check.
"""

import types
from collections.abc import Callable
from typing import Any

from nicegui import helpers

MAX_REMEMBERED = 10_000
_remembered: dict[tuple[Any, ...], bool] = {}
_state: dict[str, Callable[[Callable], bool]] = {}


def install() -> None:
    """Answer NiceGUI's `expects_arguments` from memory from now on (idempotent)."""
    if 'original' in _state:
        return
    _state['original'] = helpers.expects_arguments
    helpers.expects_arguments = expects_arguments


def expects_arguments(func: Callable) -> bool:
    """NiceGUI's `expects_arguments(func)`, remembered per code object, binding and defaults."""
    original = _state['original']
    bound = isinstance(func, types.MethodType)
    target = func.__func__ if bound else func  # type: ignore[attr-defined]
    if type(target) is not types.FunctionType or '__wrapped__' in vars(target) or '__signature__' in vars(target):
        return original(func)
    key = (target.__code__, bound, len(target.__defaults__ or ()), frozenset(target.__kwdefaults__ or ()))
    known = _remembered.get(key)
    if known is None:
        known = original(func)
        if len(_remembered) < MAX_REMEMBERED:
            _remembered[key] = known
    return known
