#!/bin/sh
# Print the software-back-end kernel command line (cmdline-pvm.txt without
# comments, on one line).
grep -v '^[[:space:]]*#' "$(dirname "$0")/cmdline-pvm.txt" | tr -s '\n' ' ' | sed 's/ *$//'
