"""Where a browser may be sent after sign-in: only a path on this server, never another site."""

import re

# A path that starts with one slash followed by a path character: not `//host`, not `/\host` (browsers read a
# backslash as a slash), no scheme, no control characters or spaces anywhere.
_LOCAL = re.compile(r'/(?![/\\])[A-Za-z0-9\-._~!$&\'()*+,;=:@%/?]*')


def local_target(target: str) -> str:
    """The target if it is a same-origin relative path, else '' (the caller then uses the home screen)."""
    if not target or len(target) > 2000 or not _LOCAL.fullmatch(target) or '\\' in target:
        return ''
    if '%5c' in target.lower() or '%2f%2f' in target.lower():  # encoded tricks some servers decode before redirecting
        return ''
    return target
