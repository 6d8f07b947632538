"""``confidata ipp bench --cases NAME,...``: the catalogue's cases run at their own sizes.

A case names its reference scenario, its number of input parties and, where a source states
them, its records per party (`ipp/cases.yaml`). Each becomes one grid cell per technique of its
benchmark scenario, at the case's size and party count where this machine and the technique
can hold them, and otherwise scaled down; the scaling (or the absence of a stated size) is
written into every record's ``case`` field, so a reader never takes a scaled run for the case's
own size.
"""

from __future__ import annotations

from confidata.errors import ConfidataError

__all__ = ["MACHINE_RECORDS", "UNSTATED_RECORDS", "case_cells"]

MACHINE_RECORDS = 1_000_000  # per party: what the 2-core, 23 GB machine runs in minutes per technique
UNSTATED_RECORDS = 10_000  # per party where no source states the case's size


def case_cells(names: list[str], techniques: dict, parties_of) -> list[tuple]:
    """(cell, note) for every technique of each named case's benchmark scenario; `parties_of(tech,
    wanted)` picks the party count a technique runs nearest the case's."""
    from confidata.ipp import load_catalogue  # noqa: PLC0415
    from confidata.ipp.techniques import Cell  # noqa: PLC0415

    catalogue = load_catalogue()
    out = []
    for name in names:
        case = catalogue.get(name)
        if not case.benchmarked_here:
            raise ConfidataError(
                f"Case '{name}' is not benchmarked here ({case.not_benchmarked_reason}); "
                "'confidata ipp cases' lists the cases that are."
            )
        stated = [n for n in case.sizes.records.values() if n is not None]
        if stated:
            wanted = max(stated)
            records = min(wanted, MACHINE_RECORDS)
            size_note = (
                f"the case's largest holder has {wanted:,} records"
                + (f"; scaled to {records:,} per party, what this machine runs" if records < wanted else "")
            )
        else:
            records = UNSTATED_RECORDS
            size_note = f"no source states the case's records; run at {records:,} per party"
        for (scenario, key), tech in techniques.items():
            if scenario != case.benchmark_scenario:
                continue
            parties = parties_of(tech, case.sizes.input_parties)
            stated_parties = case.sizes.input_parties
            party_note = (
                f"{parties} data holders"
                + (
                    f" (the case has {stated_parties:,}; {key} runs with {parties} here)"
                    if stated_parties and stated_parties != parties
                    else "" if stated_parties else " (the case does not state its number)"
                )
            )
            cell = Cell(scenario, key, records, parties, 0.0, "none")
            out.append((cell, {"case": case.slug, "case_scaling": f"{size_note}; {party_note}"}))
    return out
