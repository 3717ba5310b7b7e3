#!/usr/bin/env bash
# Runs QEMU (the arguments) as this very process (exec: same pid, same status). Under nested SVM
# (the KVM lab) a vCPU of a tiny guest now and then stops with a KVM internal error, after which
# QEMU pauses for good: a watcher then kills it at once (its "KVM internal error" line stays on
# stderr), so the test runs the guest again (tests/nested_rerun.h) instead of waiting it out.
log=$(mktemp)
pid=$$
(
  while kill -0 "$pid" 2>/dev/null; do
    if grep -q "KVM internal error" "$log"; then kill -KILL "$pid"; break; fi
    sleep 0.1
  done
  rm -f "$log"
) </dev/null >/dev/null 2>&1 &
exec "$@" 2> >(tee -a "$log" >&2)
