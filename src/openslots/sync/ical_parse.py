"""iCalendar bytes → icalendar components, read the way normalization needs them.

Three differences from ``icalendar.Calendar.from_ical``, each for a reason:

* **TZIDs are not looked up while parsing.** A value with ``TZID=...`` keeps its wall clock
  (naive, or UTC when written with ``Z``) and its ``TZID`` parameter;
  :mod:`openslots.sync.timezones` resolves it afterwards, per calendar, against that calendar's
  own VTIMEZONEs. icalendar's lookup happens mid-parse, so a VTIMEZONE placed after the events
  was missed (it re-parsed the whole feed to fix that), and ``TZID=Europe`` raised tzdata's
  ``IsADirectoryError`` and lost the whole feed.
* **VTIMEZONEs are not registered process-wide.** icalendar caches each unknown VTIMEZONE under
  its TZID for the whole process, first come first served: one feed's ``Customized Time Zone``
  then became every later feed's, and a hostile feed could grow the cache without bound.
* **Properties normalization never reads are skipped unparsed** (SUMMARY, DESCRIPTION, alarms,
  to-dos...), which is most of the parsing work of a real feed. ``ATTENDEE`` lines are parsed
  only when asked for (declines need the owner's addresses).

Lines that do not split into name and value still raise (outside an event) as in icalendar.
"""

from __future__ import annotations

import re
from typing import Any

from icalendar import Calendar, Component
from icalendar.cal.component_factory import ComponentFactory
from icalendar.parser.ical.component import ComponentIcalParser

__all__ = ["EVENT_PROPERTIES", "parse_components"]

# What normalization reads from a VEVENT (DESIGN §5, busy_status, recurring-ical-events).
EVENT_PROPERTIES = frozenset(
    {
        "UID",
        "DTSTART",
        "DTEND",
        "DURATION",
        "RRULE",
        "RDATE",
        "EXDATE",
        "RECURRENCE-ID",
        "SEQUENCE",
        "TRANSP",
        "STATUS",
        "X-MICROSOFT-CDO-BUSYSTATUS",
        "X-MICROSOFT-CDO-INTENDEDSTATUS",
    }
)
# Components whose every property may matter: the calendar (X-WR-TIMEZONE, PRODID) and zones.
_READ_WHOLE = frozenset({"VCALENDAR", "VTIMEZONE", "STANDARD", "DAYLIGHT"})
# A content line's name ends at the first ";" or ":"; lines without either are left to the
# real parser, which reports them.
_NAME = re.compile(r"[A-Za-z0-9-]+(?=[;:])")
_FACTORY = ComponentFactory()


class _NormalizationParser(ComponentIcalParser):
    """icalendar's parser, refined through its documented template methods."""

    def __init__(self, data: bytes, event_properties: frozenset[str]) -> None:
        super().__init__(data, _FACTORY, Calendar.types_factory)
        self._event_properties = event_properties

    def parse_content_lines(self) -> None:
        name_of = _NAME.match
        for line in self._content_lines_iterator:
            if not line:
                continue
            match = name_of(line)
            if match is not None:
                name = match.group().upper()
                if name in ("BEGIN", "END") and line[match.end()] == ":":
                    # The commonest lines, and the simplest: no need for the full split.
                    value = line[match.end() + 1 :]
                    if name == "BEGIN":
                        self.handle_begin_component(value)
                    else:
                        self.handle_end_component(value)
                    continue
                if not self._wanted(name):
                    continue
            try:
                name, params, vals = line.parts()
            except ValueError as error:
                self.handle_line_parse_error(error)
                continue
            upper = name.upper()
            if upper == "BEGIN":
                self.handle_begin_component(vals)
            elif upper == "END":
                self.handle_end_component(vals)
            else:
                self.handle_property(upper, params, vals, line)

    def _wanted(self, name: str) -> bool:
        if not self._stack:
            return True  # a stray property: the real parser reports it
        component = self._stack[-1].name
        if component == "VEVENT":
            return name in self._event_properties
        return component in _READ_WHOLE

    def handle_end_component(self, vals: str) -> None:
        # icalendar's version also caches VTIMEZONEs process-wide (see the module docstring).
        if not self._stack:
            raise ValueError("END encountered without an accompanying BEGIN!")
        component = self._stack.pop()
        if self._stack:
            self._stack[-1].add_component(component)
        else:
            self._components.append(component)

    def parse_and_add_property(
        self, name: str, params: Any, val: str, tzid: str | None, line: Any
    ) -> None:
        # The value is read without its TZID; timezones.py attaches the zone later.
        super().parse_and_add_property(name, params, val, None, line)


def parse_components(data: bytes, *, attendees: bool) -> list[Component]:
    """The top-level components of ``data`` (usually VCALENDARs), TZIDs left unresolved.

    ``attendees`` keeps the VEVENTs' ATTENDEE lines. Raises what icalendar raises for data
    that does not parse (``ValueError`` mostly).
    """
    wanted = EVENT_PROPERTIES | {"ATTENDEE"} if attendees else EVENT_PROPERTIES
    parser = _NormalizationParser(data, wanted)
    return list(parser.parse())
