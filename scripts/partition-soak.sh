#!/usr/bin/env bash
# The partition soak's long form, by hand, as root (docs/partitions.md):
#   scripts/partition-soak.sh --minutes 30
#   scripts/partition-soak.sh --minutes 5 --faults "cut 51-52,kill mc52"   # only these faults
# Builds the how-to's three hosts in network namespaces (scripts/netns.sh), runs two proxies under load
# while faults come and go, and prints a report per phase; it is also left in
# magent-cli/target/partition-soak.txt. Without --minutes: the short form CI runs (about 2.5 minutes).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
props=()
while (( $# )); do
  case $1 in
    --minutes) props+=("-Dsoak.minutes=${2:?--minutes N}"); shift 2 ;;
    --faults) props+=("-Dsoak.faults=${2:?--faults LIST}"); shift 2 ;;
    *) echo "partition-soak.sh: unknown argument $1 (--minutes N, --faults LIST)" >&2; exit 2 ;;
  esac
done
exec mvn -B -q -pl magent-cli -am verify -Dit.test=PartitionSoakIT "${props[@]}" -Dtest=none \
  -Dsurefire.failIfNoSpecifiedTests=false -Dfailsafe.failIfNoSpecifiedTests=false
