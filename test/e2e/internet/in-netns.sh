#!/bin/sh
# Runs a browser inside a test's "home" network namespace: Playwright starts this script as the
# browser's executable, with WD_NETNS (the namespace, /proc/<pid>/ns/net) and WD_BROWSER set.
exec nsenter --net="$WD_NETNS" "$WD_BROWSER" "$@"
