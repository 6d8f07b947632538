#!/usr/bin/env bash
# The committed full run of `confidata ipp bench` (bench/results_ipp/), in steps ordered so that
# the cells worth most come first: a stopped run keeps every finished cell, and the same script
# run again continues where it stopped (--resume skips the cells already recorded).
#
#   nohup bash bench/ipp_full.sh > bench/results_ipp/nohup.out 2>&1 &
#
# 1. every technique at 10^4 records per party, 0 ms, with the protections at 10^4
# 2. every technique at 10^5, 0 ms
# 3. 10^6 per party for the techniques that take it in minutes here
# 4. the added latencies 10, 50 and 150 ms at 10^4 (techniques with a transport)
# 5. 10^6 for two-party Diffie-Hellman PSI and its BFV sum (some 150 s each at load 2,
#    bench/RESULTS_SECURE.md)
# 6. the latencies at 10^5 for the MPyC table, the helper PSI and the vertical table
# PPRL stops at 10^5 (its registry entry says why); the machine is shared, so the load average
# before and after every run is in its record.
set -u
cd "$(dirname "$0")/.."
OUT=bench/results_ipp
BENCH=(.venv/bin/confidata ipp bench -o "$OUT" --resume)
CHEAP=mpc_shamir_mpyc,he_threshold_paillier,mpc_vertical_helper,psi_helper,psi_helper_sum,mpc_regression,mpc_vertical_regression,mpc_quantiles,plain_trusted_third_party,pooled
"${BENCH[@]}" --sizes 10000 --latency-sizes "" --protection-sizes 10000
"${BENCH[@]}" --sizes 100000 --latency-sizes "" --protection-sizes ""
"${BENCH[@]}" --sizes 1000000 --latency-sizes "" --protection-sizes "" --techniques "$CHEAP" --timeout 1200
"${BENCH[@]}" --sizes "" --latencies 10,50,150 --latency-sizes 10000 --protection-sizes ""
"${BENCH[@]}" --sizes 1000000 --latency-sizes "" --protection-sizes "" --techniques psi_ecdh,psi_sum_bfv \
    --timeout 1500
"${BENCH[@]}" --sizes "" --latencies 10,50,150 --latency-sizes 100000 --protection-sizes "" \
    --techniques mpc_shamir_mpyc,psi_helper,mpc_vertical_helper
