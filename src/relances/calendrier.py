"""Business days: deadlines and announced dates never fall on a weekend or a public holiday.

The creditor's country decides (`[entreprise] pays`), with Alsace-Moselle's two extra days
when `[entreprise] alsace_moselle = true`. Holidays come from the `holidays` package.
"""

from __future__ import annotations

import datetime

ONE_DAY = datetime.timedelta(days=1)


class Calendrier:
    def __init__(self, pays: str = "FR", alsace_moselle: bool = False):
        import holidays  # 30 ms and more: only when a deadline is computed

        subdiv = "57" if pays == "FR" and alsace_moselle else None
        self._feries = holidays.country_holidays(pays, subdiv=subdiv)
        self._prochain: dict[datetime.date, datetime.date] = {}

    def ouvre(self, day: datetime.date) -> bool:
        """Monday to Friday, not a public holiday."""
        return day.weekday() < 5 and day not in self._feries

    def prochain_ouvre(self, day: datetime.date) -> datetime.date:
        """`day` itself when it is a business day, else the next one."""
        found = self._prochain.get(day)
        if found is None:
            found = day
            while not self.ouvre(found):
                found += ONE_DAY
            self._prochain[day] = found
        return found

    def apres_ouvres(self, day: datetime.date, count: int) -> datetime.date:
        """The `count`-th business day after `day`."""
        for _ in range(count):
            day = self.prochain_ouvre(day + ONE_DAY)
        return day
