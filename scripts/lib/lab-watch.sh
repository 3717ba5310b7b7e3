#!/bin/bash
# The KVM lab's watcher (scripts/kvm-lab.sh starts it beside a job): every 10 s a heartbeat line
# on the console, so the host tells a lab that froze (no heartbeat: the emulator) from a job that
# hangs (heartbeats, no output); and the lab's own mounts, /dev/kvm and tracefs checked, so the
# console log names the moment (and so the test) one of them is lost. Its lines start with
# "kvm-lab-hb"; kvm-lab.sh keeps them in the console log and out of the job's output.
# When the host asks (the file /run/exitprof-lab/dump), it prints the lab's processes and their
# kernel stacks: what a hung job waits for.
# Files, not <(...): the lab's devtmpfs has no /dev/fd.
state=$(mktemp -d)
cat /proc/1/mountinfo >"$state/prev"
lost=""
while sleep 10; do
  now=$(cut -d' ' -f1 /proc/uptime)
  cat /proc/1/mountinfo >"$state/cur"
  if ! cmp -s "$state/prev" "$state/cur"; then
    echo "kvm-lab-hb $now the lab's mounts changed:"
    diff "$state/prev" "$state/cur" | sed 's/^/kvm-lab-hb   /'
    mv "$state/cur" "$state/prev"
  fi
  gone=$(for p in /dev/kvm /sys/kernel/tracing/events/kvm /sys/kernel/debug/kvm; do [[ -e $p ]] || echo -n "$p "; done)
  if [[ $gone != "$lost" ]]; then
    echo "kvm-lab-hb $now lost: ${gone:-nothing}"
    lost=$gone
  fi
  echo "kvm-lab-hb $now load $(cut -d' ' -f1-4 /proc/loadavg) $(grep MemAvailable /proc/meminfo | tr -s ' ')"
  if [[ -e /run/exitprof-lab/dump ]]; then
    rm -f /run/exitprof-lab/dump
    echo "kvm-lab-hb $now processes:"
    ps -eo pid,ppid,stat,wchan:24,etimes,args --width 200 | sed 's/^/kvm-lab-hb   /'
    for d in /proc/[0-9]*; do
      s=$(awk '{print $3}' "$d/stat" 2>/dev/null)
      [[ $s == D || $s == R ]] || continue
      echo "kvm-lab-hb   stack of ${d#/proc/} ($s, $(cat "$d/comm" 2>/dev/null)):"
      sed 's/^/kvm-lab-hb     /' "$d/stack" 2>/dev/null
    done
  fi
done
