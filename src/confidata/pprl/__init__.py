"""Privacy-preserving record linkage (PPRL): link records on encoded names, dates and addresses.

When two data holders share no clean identifier, they encode their quasi-identifiers (names,
dates of birth, postcodes, with typos) into keyed Bloom filters, and a linkage unit that never
sees a name compares the filters. The holders share a secret key; the linkage unit does not.

Flow: at each holder ``confidata pprl encode`` (`encode`) writes a .clk file; the linkage unit
runs ``confidata pprl link A.clk B.clk`` and writes the matched pairs of record ids with their
scores; ``confidata pprl evaluate`` compares the matches with known true pairs.

Modules: `fields` (the --fields list: column, kind, weight), `keys` (the secret and what is
derived from it), `normalise` (one spelling per value; dates read in each file's format),
`encode` (the keyed CLK), `hardening` (balance, XOR folding, rule 90, diffusion, salting: each
with the attack it counters), `blockkeys` (declared blocking fields, encoded separately as keyed
codes), `clkfile` (the .clk format), `similarity` (Dice on packed words), `blocking` (MinHash
LSH, and the join on declared block codes), `link` (candidate pairs, scores, one-to-one
assignment, threshold), `quality` (precision, recall, F1 and the score histograms against true
pairs). The attack on the encodings (`attack`) and the data generator with realistic errors
(`generate`) sit beside. `party` runs one party of a linkage study (holders encode, the linkage
unit links, then a secure table over the linked pairs on `confidata.secure`), `demo` its local
demo (``confidata secure demo --scenario linkage``).

The .clk file (see `clkfile` for every key): Parquet, never pickle. Column one holds the record
ids, as strings, under the holder's own id column name (they travel beside the encoding, never
inside it); column ``clk`` holds each record's bits as a fixed-size binary value of ``bits/64``
little-endian uint64 words (bit j is bit j % 64 of word j // 64). The Parquet metadata key
``confidata.pprl`` holds a JSON header: format and version, id column, record count, bit length
after hardening, the field list (column, kind, weight, q, date format) in order, the hardening
steps in the order applied, the encoding parameters (filter length before hardening, hash
"hmac-sha256", token scheme) and a key check value (equal in two files exactly when they share
the secret; a PRF output that reveals nothing of it). No data value is in a .clk file beside the
ids the holder chose to send.

Python use::

    from confidata.pprl import encode, parse_fields, parse_hardening, read_key, write_clk
    result = encode(frame, id_column="rec_id", fields=parse_fields("first,last,dob:date"),
                    key=read_key("pprl.key"), hardening=parse_hardening("balance"))
    write_clk("a.clk", result.encoding)
"""

from confidata.pprl.clkfile import Encoding, check_compatible, read_clk, write_clk
from confidata.pprl.encode import EncodeResult, encode
from confidata.pprl.errors import EncodingMismatchError, KeyFileError, LinkageError
from confidata.pprl.fields import FieldSpec, parse_fields
from confidata.pprl.hardening import HardeningStep, apply_hardening, parse_hardening
from confidata.pprl.keys import SecretKey, read_key
from confidata.pprl.normalise import FieldReport

__all__ = [
    "EncodeResult",
    "Encoding",
    "EncodingMismatchError",
    "FieldReport",
    "FieldSpec",
    "HardeningStep",
    "KeyFileError",
    "LinkageError",
    "SecretKey",
    "apply_hardening",
    "check_compatible",
    "encode",
    "parse_fields",
    "parse_hardening",
    "read_clk",
    "read_key",
    "write_clk",
]
