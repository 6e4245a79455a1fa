"""The calculators a `calculate` node may name, as the flow format knows them: inputs, outputs and the
values of their status outputs. The checks verify nodes against these; bot/core/calculators.py holds the
functions (the core imports the flow format, never the other way round) and a test keeps the two equal."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Signature:
    name: str
    inputs: Mapping[str, str]  # input name -> kind ("date", "integer", "citizenship", "region")
    outputs: Mapping[str, str]  # output name -> kind ("date", "integer", "text", "name", "status", "phrase")
    statuses: Mapping[str, tuple[str, ...]] = field(default_factory=dict)  # status output -> values


SIGNATURES: dict[str, Signature] = {
    s.name: s
    for s in (
        Signature(
            name="patent_next_payment",
            inputs={"issue_date": "date", "months_paid": "integer"},
            outputs={"paid_until": "date", "pay_by": "date", "days_left": "integer", "term_end": "date",
                     "reissue_by": "date", "payment_status": "status"},
            statuses={"payment_status": ("ok", "soon", "overdue", "term_over")},
        ),
        Signature(
            name="registration_deadline",
            inputs={"citizenship": "citizenship", "arrival_date": "date"},
            outputs={"registration_due": "date", "registration_rule": "phrase", "days_left": "integer",
                     "registration_status": "status"},
            statuses={"registration_status": ("ok", "overdue")},
        ),
        Signature(
            name="patent_price",
            inputs={"region": "region"},
            outputs={"price_year": "text", "price_region": "name", "price_amount": "text",
                     "price_exact": "text", "price_coefficient": "text", "price_deflator": "text",
                     "price_source": "text", "price_status": "status"},
            statuses={"price_status": ("published", "computed", "unknown_coefficient", "unknown_region",
                                       "unknown_year")},
        ),
    )
}
