# tools/lib.sh — what the project's scripts share (./mxd, jmh/run, tools/run-test-main, examples/consumer/run).
# Sourced, not run. The sourcing script sets MXD_ROOT (the repository root) and MXD_NAME (the prefix of its
# messages) first. Every function here is the only copy of what it does.
# shellcheck shell=bash

: "${MXD_ROOT:?tools/lib.sh needs MXD_ROOT, the repository root}"
: "${MXD_NAME:=mxd}"

MXD_MIN_JAVA=25
MXD_JDK_DIR="${MXD_JDK_DIR:-/usr/lib/jvm}"   # where JDKs are looked for when JAVA_HOME is not new enough

mxd_die() { echo "$MXD_NAME: $*" >&2; exit 1; }

# Major version of the JDK at $1 from its `release` file (no JVM start needed); empty when unknown.
mxd_jdk_major() {
  local v
  [ -f "$1/release" ] || return 0
  v=$(sed -n 's/^JAVA_VERSION="\([0-9][0-9]*\).*/\1/p' "$1/release")
  echo "${v:-}"
}

mxd_is_usable_jdk() {
  local m
  m=$(mxd_jdk_major "$1")
  [ -n "$m" ] && [ "$m" -ge "$MXD_MIN_JAVA" ] && [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ]
}

# Sets and exports JAVA_HOME, and sets JAVA: JAVA_HOME when it is a JDK >= 25, else the newest such JDK under
# $MXD_JDK_DIR. Dies naming every JDK it looked at when there is none.
mxd_use_jdk() {
  local looked=() best="" best_major=0 d m nullglob
  nullglob=$(shopt -p nullglob || true)
  shopt -s nullglob
  if [ -n "${JAVA_HOME:-}" ]; then
    if mxd_is_usable_jdk "$JAVA_HOME"; then best="$JAVA_HOME"; fi
    looked+=("JAVA_HOME=$JAVA_HOME (version $(mxd_jdk_major "$JAVA_HOME"))")
  fi
  if [ -z "$best" ]; then
    for d in "$MXD_JDK_DIR"/*/; do
      d=${d%/}
      [ -L "$d" ] && continue
      m=$(mxd_jdk_major "$d")
      looked+=("$d (${m:-unknown})")
      if mxd_is_usable_jdk "$d" && [ "$m" -gt "$best_major" ]; then best="$d"; best_major=$m; fi
    done
  fi
  eval "$nullglob"
  [ -n "$best" ] || mxd_die "needs a JDK $MXD_MIN_JAVA or newer (java and javac); looked at ${looked[*]:-JAVA_HOME unset and $MXD_JDK_DIR empty}. Install one (e.g. Temurin 25) under $MXD_JDK_DIR or set JAVA_HOME."
  JAVA_HOME="$best"
  export JAVA_HOME
  JAVA="$JAVA_HOME/bin/java"
}

# Sets MXD_JVM_FLAGS: the flags every mxd JVM starts with. They live in one place, the root pom's
# <mxd.jvmFlags> (surefire and failsafe read the same property).
mxd_read_jvm_flags() {
  MXD_JVM_FLAGS=$(sed -n 's:.*<mxd.jvmFlags>\([^$]*\)</mxd.jvmFlags>.*:\1:p' "$MXD_ROOT/pom.xml" | head -n 1)
  [ -n "$MXD_JVM_FLAGS" ] || mxd_die "cannot read <mxd.jvmFlags> from $MXD_ROOT/pom.xml"
}

# The project's version, the first <version> of the root pom (the one after <artifactId>mxd-parent).
mxd_project_version() {
  sed -n '/<artifactId>mxd-parent<\/artifactId>/,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' "$MXD_ROOT/pom.xml" \
    | head -n 1
}

# Leading -D and -X arguments are JVM options: `mxd_take_jvm_opts "$@"; shift "$MXD_JVM_OPT_COUNT"` puts
# them in the array MXD_JVM_OPTS and drops them from the caller's arguments. No JMH option and no mxd
# subcommand starts with -D or -X.
mxd_take_jvm_opts() {
  MXD_JVM_OPTS=()
  while [ $# -gt 0 ] && [[ "$1" == -D* || "$1" == -X* ]]; do MXD_JVM_OPTS+=("$1"); shift; done
  MXD_JVM_OPT_COUNT=${#MXD_JVM_OPTS[@]}
}

# Succeeds when $1 is missing or older than a build input of the reactor (a pom, a module's sources, .mvn).
mxd_is_stale() {
  [ -e "$1" ] || return 0
  [ -n "$(find "$MXD_ROOT/pom.xml" "$MXD_ROOT"/*/pom.xml "$MXD_ROOT"/*/src "$MXD_ROOT/.mvn" -newer "$1" -print \
    -quit 2>/dev/null)" ]
}

# Maven in the repository root, batch mode and no colours (its output goes to logs).
mxd_maven() {
  command -v mvn >/dev/null 2>&1 || mxd_die "needs Apache Maven (mvn) on PATH to build; install it (e.g. apt-get install maven)"
  (cd "$MXD_ROOT" && mvn -B -Dstyle.color=never "$@")
}

# Runs `java MXD_JVM_FLAGS $MXD_JAVA_OPTS ARGS...` and returns its exit status once java and its stderr filter
# have both finished. The JVM prints "WARNING: Using incubator modules" on every start and no flag turns it
# off, so stderr goes through grep; waiting for the filter too means that everything java wrote to stderr
# is out before the script goes on or exits (`exec 2> >(grep ...)` left an error line to arrive after the
# shell prompt). java runs in the background only so that a trap can pass TERM, HUP and INT sent to the
# script on to it; its standard input stays the script's. The filter ignores those signals and ends when
# java's stderr closes. SIGKILL cannot be passed on: MXD_LAUNCHER_PID names this script, and mxd's main
# (LauncherWatch) halts the JVM when it is gone, so `kill -9` of ./mxd leaves no JVM running on as an orphan.
mxd_run_java() {
  local rc=0 filter_pid
  exec 4> >(trap '' INT TERM HUP; exec grep -v --line-buffered '^WARNING: Using incubator modules' >&2)
  filter_pid=$!
  # shellcheck disable=SC2086  # MXD_JVM_FLAGS and MXD_JAVA_OPTS are whitespace-separated flag lists
  MXD_LAUNCHER_PID=$$ "$JAVA" $MXD_JVM_FLAGS ${MXD_JAVA_OPTS:-} "$@" <&0 2>&4 4>&- &
  MXD_JAVA_PID=$!
  exec 4>&-
  trap 'kill -TERM "$MXD_JAVA_PID" 2>/dev/null' TERM HUP
  trap 'kill -INT "$MXD_JAVA_PID" 2>/dev/null' INT
  wait "$MXD_JAVA_PID" || rc=$?
  while kill -0 "$MXD_JAVA_PID" 2>/dev/null; do   # a trap interrupted the wait: java is still stopping
    rc=0
    wait "$MXD_JAVA_PID" || rc=$?
  done
  trap - TERM HUP INT
  wait "$filter_pid" || true
  return "$rc"
}

# mxd_run_java as the script's last act: exits with java's status.
mxd_exec_java() {
  local rc=0
  mxd_run_java "$@" || rc=$?
  exit "$rc"
}
