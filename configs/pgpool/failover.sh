#!/bin/sh
# pgpool's failover_command: failover.sh FAILED_ID FAILED_HOST OLD_PRIMARY_ID NEW_MAIN_ID NEW_MAIN_HOST
# pgpool has already detached the failed server. When it was the primary,
# promote the server pgpool chose to replace it; a failed standby needs nothing.
failed_id=$1 failed_host=$2 old_primary_id=$3 new_main_id=$4 new_main_host=$5
logger -t failover.sh "node $failed_id ($failed_host) failed; old primary $old_primary_id, new main $new_main_id ($new_main_host)"
if [ "$failed_id" != "$old_primary_id" ] || [ "$new_main_id" -lt 0 ]; then
    exit 0
fi
# pg_promote waits (up to 30 s) until the standby accepts writes. The
# password comes from ~postgres/.pgpass.
psql -X -q -h "$new_main_host" -U pgpool -d postgres -c "SELECT pg_promote(true, 30)" \
    && logger -t failover.sh "promoted $new_main_host"
