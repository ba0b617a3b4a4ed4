#!/usr/bin/env bash
# Runs the benchmarks in bench/ against the compiled output and the local
# infrastructure. Figures print as tables next to a baseline measured in the
# same run.
#
#   npm run bench                 gateway-vs-direct (PostgreSQL only)
#   npm run bench -- outbox       events backbone (PostgreSQL + Kafka)
#   npm run bench -- jwt          JWT verification cost per algorithm
#   npm run bench -- rental       ReserveRental, direct and via the gateway, next to
#                                 pgbench running the same SQL (PostgreSQL + Redis;
#                                 bench/rental-reserve.ts, docs/rentals.md "Benchmark")
#   npm run bench -- maintenance  AddPartsUsed on one hot part next to uncontended
#                                 parts; ScheduleMaintenance next to rental's
#                                 BlockVehicle (PostgreSQL + Redis; bench/maintenance.ts,
#                                 docs/maintenance.md "Benchmark")
#   npm run bench -- ledger-reports  trial balance from checkpoints next to a raw
#                                 SUM GROUP BY at 10k/100k/1M journal lines (PostgreSQL;
#                                 bench/ledger-trial-balance.ts, docs/ledger.md "Benchmark")
#   npm run bench -- ledger-posting  ledger postings through the consumer path (Kafka ->
#                                 inbox -> Posting.post) next to pgbench running the same
#                                 SQL (PostgreSQL + Kafka; bench/ledger-posting.ts,
#                                 docs/ledger.md "Benchmark")
#   npm run bench -- soak         memory and latency under a paced load over time
#                                 (20 min by default, not part of all; bench/soak.ts)
#   npm run bench -- all
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"
cd "$REPO_ROOT"
ensure_dependencies
build
which="${1:-gateway}"
case "$which" in
  gateway | soak) components=postgres ;;
  ledger-reports) components=postgres ;;
  rental | maintenance) components="postgres redis" ;;
  outbox) components="postgres kafka" ;;
  ledger-posting) components="postgres kafka" ;;
  all) components="postgres redis kafka" ;;
  jwt) components="" ;;
  *) echo "usage: npm run bench -- [gateway|outbox|jwt|rental|maintenance|ledger-posting|ledger-reports|soak|all]" >&2; exit 2 ;;
esac
if [[ -n "$components" ]]; then
  FLEET_INFRA_COMPONENTS="${FLEET_INFRA_COMPONENTS:-$components}" bash scripts/infra/infra.sh start >/dev/null
fi
eval "$(bash scripts/infra/infra.sh env)"
if [[ "$which" == rental || "$which" == all ]]; then
  # The rental benchmark's native gRPC load generator; without it those paths are skipped.
  bash scripts/infra/tools.sh ghz || echo "[fleet] ghz could not be installed: the benchmark skips its paths" >&2
fi
run() { node --enable-source-maps "dist/bench/$1.js"; echo; }
case "$which" in
  gateway) run gateway-vs-direct ;;
  outbox) run outbox ;;
  jwt) run jwt-verify ;;
  rental) run rental-reserve ;;
  maintenance) run maintenance ;;
  ledger-reports) run ledger-trial-balance ;;
  ledger-posting) run ledger-posting ;;
  soak) run soak ;;
  all) run gateway-vs-direct; run outbox; run jwt-verify; run rental-reserve; run maintenance; run ledger-posting; run ledger-trial-balance ;;
esac
