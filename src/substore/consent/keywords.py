"""What an inbound message asks: the whole message is one keyword, or it asks nothing.

Opt-out words are the carrier list (vendor doc 004, code 40300) plus the FCC's
(47 CFR 64.1200(a)(10): REVOKE, OPTOUT, OPT OUT); any case, surrounding whitespace and
trailing . and ! ignored. "stop texting me" is not a keyword.
"""

from __future__ import annotations

import re
from enum import StrEnum


class InboundAction(StrEnum):
    OPTED_OUT = "OPTED_OUT"
    OPTED_IN = "OPTED_IN"
    HELP = "HELP"
    NONE = "NONE"


OPT_OUT = frozenset(
    {"STOP", "STOPALL", "STOP ALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT"}
    | {"REVOKE", "OPTOUT", "OPT OUT"}
)
OPT_IN = frozenset({"START", "UNSTOP", "YES"})
HELP = frozenset({"HELP", "INFO"})

_SPACES = re.compile(r"\s+")


def keyword(text: str) -> tuple[InboundAction, str | None]:
    """The action `text` asks for and the keyword as matched (upper case), if any."""
    word = _SPACES.sub(" ", text.strip().rstrip(".!").strip()).upper()
    for action, words in (
        (InboundAction.OPTED_OUT, OPT_OUT),
        (InboundAction.OPTED_IN, OPT_IN),
        (InboundAction.HELP, HELP),
    ):
        if word in words:
            return action, word
    return InboundAction.NONE, None
