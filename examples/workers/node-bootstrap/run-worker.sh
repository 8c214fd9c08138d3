#!/usr/bin/env bash
# Runs the Runlane bootstrap worker. Safe to call from cron: it changes to its own
# directory first, so .env and worker.mjs are found no matter where it is started from.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"

if [ -f .env ]; then
  set -a
  # shellcheck disable=SC1091
  . ./.env
  set +a
fi

exec node worker.mjs
