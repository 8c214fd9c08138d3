#!/bin/sh
# Counts to $ROWS, one log line per row, and returns the total as the step output.
set -eu
total=${ROWS:-0}
n=0
while [ "$n" -lt "$total" ]; do
  n=$((n + 1))
  echo "row $n"
done
echo "OUTPUT: {\"count\": $n}"
