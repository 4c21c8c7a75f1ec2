"""A paginator that stops counting: a page of a list that may be a million rows long."""

from __future__ import annotations

from typing import Any

from django.core.paginator import Paginator
from django.utils.functional import cached_property


class CappedPaginator(Paginator):
    """Counts at most ``cap`` rows (``SELECT count(*) FROM (... LIMIT cap + 1)``), so a
    page costs the same whether the list holds ten thousand rows or ten million, and its
    pages stop at the cap (no OFFSET deeper than ``cap`` rows, read in index order).

    ``capped`` says the list is longer: the page says "more than N" instead of a number
    nobody needs exact and someone would have to count the whole table for. Narrowing the
    filter reaches anything beyond the cap.
    """

    def __init__(self, object_list: Any, per_page: int, *, cap: int, **kwargs: Any) -> None:
        super().__init__(object_list, per_page, **kwargs)
        self.cap = cap

    @cached_property
    def _counted(self) -> int:
        rows: Any = self.object_list  # a QuerySet: sliced, its count is a bounded subquery
        return int(rows[: self.cap + 1].count())

    @cached_property
    def count(self) -> int:
        return min(self._counted, self.cap)

    @property
    def capped(self) -> bool:
        return self._counted > self.cap
