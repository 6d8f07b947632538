#!/usr/bin/env bash
# The committed full run of `confidata ipp bench` (bench/results_ipp/), in steps ordered so that
# the cells worth most come first: a stopped run keeps every finished cell, and the same script
# run again continues where it stopped (--resume skips the cells already recorded).
#
#   nohup bash bench/ipp_full.sh > bench/results_ipp/nohup.out 2>&1 &
#
# In a working tree that others edit while it runs, run the code of one commit instead, so that
# no party starts on someone's half-written file (the records then name that commit):
#
#   git worktree add --detach /tmp/ipp-snap HEAD
#   PYTHONPATH=/tmp/ipp-snap/src nohup bash bench/ipp_full.sh > bench/results_ipp/nohup.out 2>&1 &
#
# The order was chosen for a shared 2-core machine at load 15-25, where a run of three party
# processes costs about a minute whatever its size (each party's interpreter start and imports
# wait for a core):
# 1. every technique at 10^4 records per party, 0 ms, with the protections at 10^4
# 2. every technique at 10^5, 0 ms
# 3. 10^6 per party for the techniques that take it in minutes
# 4. 50 and 150 ms added latency at 10^4 for one technique of each kind, and the third party
# 5. 10 ms at 10^4 for the same techniques
# 6. 10^6 for two-party Diffie-Hellman PSI and its BFV sum (some 150 s each at load 2,
#    bench/RESULTS_SECURE.md), then the latencies at 10^5
# PPRL stops at 10^5 (its registry entry says why); the load average before and after every run
# is in its record.
set -u
cd "$(dirname "$0")/.."
OUT=bench/results_ipp
BENCH=(.venv/bin/confidata ipp bench -o "$OUT" --resume)
KEY=mpc_shamir_mpyc,mpc_vertical_helper,psi_ecdh,psi_helper,mpc_regression,mpc_vertical_regression,mpc_quantiles
CHEAP=mpc_shamir_mpyc,mpc_vertical_helper,psi_helper,mpc_quantiles,mpc_regression,mpc_vertical_regression
"${BENCH[@]}" --sizes 10000 --latency-sizes "" --protection-sizes 10000
"${BENCH[@]}" --sizes 100000 --latency-sizes "" --protection-sizes ""
"${BENCH[@]}" --sizes 1000000 --latency-sizes "" --protection-sizes "" --techniques "$CHEAP" --timeout 1200
"${BENCH[@]}" --sizes 1000000 --latency-sizes "" --protection-sizes "" --techniques pooled --scenarios \
    horizontal_aggregate,vertical_join_aggregate,intersection_count_sum,federated_model,quantiles
"${BENCH[@]}" --sizes "" --latencies 50,150 --latency-sizes 10000 --protection-sizes "" --techniques "$KEY"
"${BENCH[@]}" --sizes "" --latencies 50,150 --latency-sizes 10000 --protection-sizes "" \
    --techniques plain_trusted_third_party --scenarios horizontal_aggregate,intersection_count_sum
"${BENCH[@]}" --sizes "" --latencies 10 --latency-sizes 10000 --protection-sizes "" --techniques "$KEY"
"${BENCH[@]}" --sizes 1000000 --latency-sizes "" --protection-sizes "" \
    --techniques psi_ecdh,psi_sum_bfv,psi_helper_sum,plain_trusted_third_party,he_threshold_paillier --timeout 1500
"${BENCH[@]}" --sizes "" --latencies 10,50,150 --latency-sizes 100000 --protection-sizes "" \
    --techniques mpc_shamir_mpyc,psi_helper,mpc_vertical_helper
# added while the run went on: the linkage study (landed this session) and, with the time left,
# more latencies at 10^5 (a cell cut by the time limit has no record and is listed as not measured)
"${BENCH[@]}" --techniques pprl_linkage_table --sizes 10000,100000 --latency-sizes "" --protection-sizes 10000
"${BENCH[@]}" --sizes "" --latencies 10,50,150 --latency-sizes 100000 --protection-sizes "" \
    --techniques mpc_quantiles,mpc_regression,psi_ecdh
"${BENCH[@]}" --sizes "" --latencies 50,150 --latency-sizes 10000 --protection-sizes "" \
    --techniques plain_trusted_third_party
# the session's last step, on the quiet machine: every latency cell at 10^4 and 10^5 still without a record
"${BENCH[@]}" --sizes "" --latencies 10,50,150 --latency-sizes 10000,100000 --protection-sizes ""
