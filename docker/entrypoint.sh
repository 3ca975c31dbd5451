#!/usr/bin/env bash
# Source the mounted Vivado, if any, then run the command.
set -e
settings="/tools/Xilinx/Vivado/${XILINX_VIVADO_VERSION}/settings64.sh"
if [ -f "$settings" ]; then
    # shellcheck disable=SC1090
    source "$settings"
else
    echo "note: $settings not mounted; Xilinx bitstream steps will stop and say so" >&2
fi
exec "$@"
