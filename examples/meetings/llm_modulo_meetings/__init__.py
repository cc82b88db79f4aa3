"""Meeting scheduling, an example llm-modulo domain (see docs/domains-and-critics.md)."""

from llm_modulo_meetings.domain import MeetingsDomain, meetings

__all__ = ["MeetingsDomain", "meetings"]
