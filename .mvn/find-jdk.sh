# Sourced by ./mvnw before it starts Maven: make JAVA_HOME point at a JDK 25 or newer.
# losskit needs JDK 25 (Vector API incubator, FFM). Machines often default to an older java;
# rather than asking every user to export JAVA_HOME, look in the usual install places.
# If none is found, JAVA_HOME is left alone and the enforcer rule in pom.xml stops the build
# with a message that says what to install.

losskit_java_feature() { # $1 = a JDK home; prints its feature release (17, 21, 25, ...) or nothing
  [ -x "$1/bin/java" ] && [ -x "$1/bin/javac" ] || return 0
  if [ -f "$1/release" ]; then
    sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release"
  else
    "$1/bin/java" -version 2>&1 | sed -n 's/.*version "\([0-9]*\).*/\1/p' | head -n 1
  fi
}

losskit_find_jdk() {
  losskit_current=""
  if [ -n "${JAVA_HOME-}" ]; then
    losskit_current=$(losskit_java_feature "$JAVA_HOME")
  fi
  if [ -n "$losskit_current" ] && [ "$losskit_current" -ge 25 ] 2>/dev/null; then
    return 0
  fi
  losskit_best=""; losskit_best_feature=0
  case $- in *f*) losskit_noglob=1 ;; *) losskit_noglob=0 ;; esac
  set +f # mvnw runs with globbing off; the search needs it
  for losskit_candidate in /usr/lib/jvm/* /usr/java/* /opt/java/* /opt/jdk* "${HOME-}"/.sdkman/candidates/java/* "${HOME-}"/.jdks/*; do
    [ -d "$losskit_candidate" ] || continue
    losskit_feature=$(losskit_java_feature "$losskit_candidate")
    [ -n "$losskit_feature" ] || continue
    if [ "$losskit_feature" -ge 25 ] && [ "$losskit_feature" -gt "$losskit_best_feature" ]; then
      losskit_best=$losskit_candidate; losskit_best_feature=$losskit_feature
    fi
  done
  if [ "$losskit_noglob" = 1 ]; then set -f; fi
  if [ -n "$losskit_best" ]; then
    JAVA_HOME=$losskit_best
    export JAVA_HOME
  fi
}

losskit_find_jdk
